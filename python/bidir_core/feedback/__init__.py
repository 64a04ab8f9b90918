"""Student -> teacher feedback: how the student's experience judges the teacher's hints.

* ``aggregate``: the TD feedback of each query (the student critic's importance-weighted
  window of TD errors, computed in C++) with its running normalisation, and the per-(prompt,
  action) ``FeedbackTable``;
* ``lookahead``: Q of every suggestion from short rollouts of the student in scratch envs
  restored to the query's state (counted as simulator steps);
* ``action_value``: Q of every suggestion from an action-value head trained on the
  student's own transitions (no simulator steps);
* ``targets``: per-prompt centring and the improvement targets the teacher learns from.

The C++ side is ``cpp/feedback/``.
"""

from bidir_core.feedback.aggregate import (
    FeedbackAggregator,
    FeedbackBatch,
    FeedbackTable,
    RunningMeanStd,
)
from bidir_core.feedback.targets import improvement_targets, prompt_relative, suggestion_advantages

__all__ = [
    "FeedbackAggregator",
    "FeedbackBatch",
    "FeedbackTable",
    "RunningMeanStd",
    "improvement_targets",
    "prompt_relative",
    "suggestion_advantages",
]
