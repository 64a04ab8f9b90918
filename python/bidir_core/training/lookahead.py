"""The student's critic judging every action a teacher could suggest, by one step of lookahead.

``CriticLookahead(states)`` restores each saved env state (``BidirVecEnv.get_state``) into
a scratch vector env of one env per candidate action, steps action k in env k, and reads
the student's value of where each step leads:

    Q(s, a) = r(s, a) + gamma * (1 - done) * V_S(s'_a)

For the teacher this is the critic's verdict on each suggestion from the state the query
was made in, including suggestions the student never takes: with the TD feedback of
SPEC.md §4 the critic only judges the actions actually taken, so a mistake the student
shares with the teacher (e.g. three left turns where one right turn reaches the goal)
never looks like one. It is one policy-improvement step on the student's own values.

Episodes that end on the lookahead step (termination or time limit) count only their
reward; the value is read with no teacher hint (the student's ``hint_input`` off).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bidir_core.vector_env import make_vec

__all__ = ["CriticLookahead"]


class CriticLookahead:
    """Q(s, a) of the student's critic for the first ``num_actions`` actions of saved states."""

    def __init__(self, task: str, num_actions: int, gamma: float) -> None:
        self.num_actions = int(num_actions)
        self.gamma = float(gamma)
        self.env = make_vec(task, self.num_actions, autoreset_mode="SameStep")
        self.env.reset(seed=0)
        self._actions = np.arange(self.num_actions, dtype=np.int64)

    def close(self) -> None:
        self.env.close()

    def __call__(self, states: list[dict[str, Any]], net: Any, tokenizer: Any) -> np.ndarray:
        """Q values (len(states), num_actions) float64 from the student ``net`` (an
        ``ActorCritic``) and its mission ``tokenizer``."""
        k = self.num_actions
        n = len(states) * k
        images = np.zeros((n, 7, 7, 3), np.uint8)
        directions = np.zeros(n, np.int64)
        missions = None
        rewards = np.zeros(n, np.float64)
        done = np.zeros(n, np.bool_)
        for q, state in enumerate(states):
            for i in range(k):
                self.env.set_state(i, state)
            obs, reward, terminated, truncated, _ = self.env.step(self._actions)
            rows = slice(q * k, (q + 1) * k)
            images[rows] = obs["image"]
            directions[rows] = obs["direction"]
            if missions is None:
                missions = np.zeros((n, obs["mission"].shape[1]), np.uint8)
            missions[rows] = obs["mission"]
            rewards[rows] = reward
            done[rows] = terminated | truncated
        if n == 0:
            return np.zeros((0, k))
        tokens = np.zeros((n, tokenizer.max_tokens), np.int64)
        tokenizer.encode_rows(missions, tokens)
        with torch.inference_mode():
            _, values = net(
                torch.from_numpy(images),
                torch.from_numpy(directions),
                torch.from_numpy(tokens),
                torch.zeros((n, net.num_actions)),
                torch.zeros(n, dtype=torch.bool),
            )
        q_values = rewards + self.gamma * (~done) * values.double().numpy()
        return q_values.reshape(len(states), k)
