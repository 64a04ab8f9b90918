"""``bidir experiment``: training modes compared over seeds and budgets, with tables and plots.

| module | what |
|---|---|
| ``config`` | ``ExperimentConfig``: the settings (``experiment.json``) and the runs they make |
| ``runner`` | trains the runs, ``--jobs`` ``bidir train`` processes at a time; resume |
| ``stats`` | mean over seeds and its Student-t confidence interval |
| ``results`` | the summary (``results.json``): per mode and budget, curves, merging, evaluation |
| ``report`` | ``results.md``: the tables |
| ``plots`` | the figures |
| ``cli`` | the ``bidir experiment paper`` and ``merge`` commands |

An experiment folder:

| path | what |
|---|---|
| ``experiment.json`` | the settings (task, iterations, frames per iteration, train flags) |
| ``runs/<mode>-s<seed>/`` | one ``bidir train`` run folder per mode and seed |
| ``logs/<mode>-s<seed>.log`` | the output of that run's ``bidir train`` |
| ``results.md``, ``results.json`` | the tables; the json keeps every run's curve (thinned) |
| ``success_vs_frames.png``, ``success_vs_time.png`` | rolling success, mean over seeds +- CI |
| ``student_success.png`` | the student alone (fresh episodes) vs frames, frames + sim steps |
| ``teacher_agreement.png`` | the teacher's oracle agreement on the probe states (teacher modes) |
| ``eval.json`` | the fresh-episode evaluation of every final student (a cache) |
"""

from bidir_core.experiment.cli import add_experiment_commands
from bidir_core.experiment.config import PAPER_BUDGETS, PAPER_MODES, ExperimentConfig
from bidir_core.experiment.plots import plot_results
from bidir_core.experiment.report import results_table, write_results
from bidir_core.experiment.results import (
    evaluate_students,
    merge_summaries,
    read_summary,
    summarize,
)
from bidir_core.experiment.runner import load_run_checkpoint, run_experiment, run_state
from bidir_core.experiment.stats import mean_ci, t_quantile

__all__ = [
    "PAPER_BUDGETS",
    "PAPER_MODES",
    "ExperimentConfig",
    "add_experiment_commands",
    "evaluate_students",
    "load_run_checkpoint",
    "mean_ci",
    "merge_summaries",
    "plot_results",
    "read_summary",
    "results_table",
    "run_experiment",
    "run_state",
    "summarize",
    "t_quantile",
    "write_results",
]
