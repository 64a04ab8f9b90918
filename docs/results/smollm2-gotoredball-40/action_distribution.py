"""Mean action distribution, on the first states of fresh episodes, of the students of
the given run folders and of the zero-shot teacher LM (the README's diagnosis of why
bidir's student fell).

    python docs/results/smollm2-gotoredball-40/action_distribution.py EXP/runs/*-s0
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from bidir_core.teacher.loading import load_teacher
from bidir_core.training.evaluate import _policy_inputs, load_student
from bidir_core.vector_env import ACTION_NAMES, make_vec


def first_states(task: str, episodes: int, seed: int, style: str = "short"):
    env = make_vec(task, episodes, stats_key=None, prompt_style=style)
    obs, _ = env.reset(seed=seed)
    return env, obs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders written by `bidir train`")
    parser.add_argument("--episodes", type=int, default=128)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--teacher", default="smollm2-135m", help="'' to skip the LM")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("run", *ACTION_NAMES, sep="\t")
    task = None
    for run in args.runs:
        config, _, net, tokenizer = load_student(run)
        task = config.task
        env, obs = first_states(task, args.episodes, args.seed)
        inputs = _policy_inputs(net, tokenizer, args.episodes)
        tokenizer.encode_rows(obs["mission"], inputs[2].numpy())
        inputs[0].numpy()[...] = obs["image"]
        inputs[1].numpy()[...] = obs["direction"]
        with torch.inference_mode():
            p = torch.softmax(net(*inputs)[0], 1).mean(0).numpy()
        env.close()
        print(run.rstrip("/").split("/")[-1], *(f"{x:.2f}" for x in p), sep="\t")
    if args.teacher and task is not None:
        teacher = load_teacher(args.teacher, dtype=torch.bfloat16)
        env, _ = first_states(task, args.episodes, args.seed, style="glam")
        p = np.exp(np.asarray(teacher.action_logprobs(env.prompts()))).mean(0)
        env.close()
        print(f"{args.teacher} (zero-shot)", *(f"{x:.2f}" for x in p), sep="\t")


if __name__ == "__main__":
    main()
