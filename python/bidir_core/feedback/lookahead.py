"""The student judging every action a teacher could suggest, by lookahead from saved states.

``CriticLookahead(states)`` restores each saved env state (``BidirVecEnv.snapshot``, copied
in C++, one batched ``restore`` per chunk) into a scratch vector env, one env per (state,
candidate action), takes action a there and then follows the student's greedy policy for
``horizon - 1`` more steps, bootstrapping from the student's value where the horizon ends:

    Q(s, a) = r_0 + gamma r_1 + ... + gamma^(H-1) r_(H-1) + gamma^H (1 - done) V_S(s_H)

with r_0 the reward of a, and r_1.. those of the student's greedy actions. ``horizon`` 1 is
one step on the critic, r(s, a) + gamma (1 - done) V_S(s'_a); a longer horizon replaces the
critic's estimate by what the student's policy actually achieves after each suggestion.
That matters once the student has converged: on GoToRedBallNoDists one step more costs
0.9 / max_steps ~ 0.014 of return, about the critic's own error, so the 1-step Q often
ranks a detour above the shortest path (in a 51.2k-frame run its argmax agreed with the
oracle on 62-71% of the states whose prompt determines the oracle's action).

For the teacher this is the student's verdict on each suggestion from the state the query
was made in, including suggestions the student never takes: with the TD feedback of
``feedback.aggregate`` only the actions actually taken are judged, so a mistake the student shares
with the teacher (e.g. three left turns where one right turn reaches the goal) never looks
like one.

Episodes that end inside the horizon (termination or time limit) count only their rewards;
the student acts and is valued with no teacher hint (its ``hint_input`` off).

Each call sets ``last_steps``, the env steps its live rollouts took (the mode adds them to
``sim_steps``), and ``rewarded`` (len(states), num_actions): whether that rollout earned a
non-zero reward inside the horizon. Where no suggestion's rollout does, all the Q values
are the critic's guesses at the horizon, and the judgement is not grounded in anything
the student achieved: on GoToLocal after 10k frames (student success ~0.5) the 16-step
lookahead's best action was the oracle's on 91% of the states where some rollout reached
the goal and on 45% of the others (the teacher itself: 47%).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bidir_core.vector_env import BidirVecEnv, EnvSnapshot, make_vec

__all__ = ["CriticLookahead"]


class CriticLookahead:
    """Q(s, a) of the student for the first ``num_actions`` actions of saved states.

    ``chunk`` saved states are rolled out at once (``chunk * num_actions`` scratch envs).
    """

    def __init__(self, task: str, num_actions: int, gamma: float, *, horizon: int = 1,
                 chunk: int = 64) -> None:
        for name, value in (("num_actions", num_actions), ("horizon", horizon), ("chunk", chunk)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.num_actions: int = int(num_actions)
        self.gamma: float = float(gamma)
        self.horizon: int = int(horizon)
        self.chunk: int = int(chunk)
        self.env: BidirVecEnv = make_vec(
            task, self.num_actions * self.chunk, autoreset_mode="SameStep", copy=False,
            stats_key="episode",
        )
        self.env.reset(seed=0)
        self._first = np.tile(np.arange(self.num_actions, dtype=np.int64), self.chunk)
        self._scratch = np.arange(self.num_actions * self.chunk, dtype=np.int64)
        self.rewarded = np.zeros((0, self.num_actions), np.bool_)
        self.last_steps: int = 0  # env steps of the live rollouts in the last call (sim_steps)

    def close(self) -> None:
        self.env.close()

    def __call__(self, states: list[EnvSnapshot], net: Any, tokenizer: Any) -> np.ndarray:
        """Q values (len(states), num_actions) float64 from the student ``net`` (an
        ``ActorCritic``) and its mission ``tokenizer``."""
        out = np.zeros((len(states), self.num_actions))
        self.last_steps = 0
        self.rewarded: np.ndarray = np.zeros((len(states), self.num_actions), np.bool_)
        for start in range(0, len(states), self.chunk):
            part = states[start : start + self.chunk]
            rows = slice(start, start + len(part))
            out[rows], self.rewarded[rows] = self._rollouts(part, net, tokenizer)
        return out

    def _rollouts(self, states: list[EnvSnapshot], net: Any,
                  tokenizer: Any) -> tuple[np.ndarray, np.ndarray]:
        k = self.num_actions
        n = len(states) * k
        self.env.restore(self._scratch[:n], [state for state in states for _ in range(k)])
        actions = self._first.copy()
        returns = np.zeros(n)
        discount = np.ones(n)
        alive = np.ones(n, np.bool_)
        rewarded = np.zeros(n, np.bool_)
        tokens = np.zeros((n, tokenizer.max_tokens), np.int64)
        for step in range(self.horizon):
            self.last_steps += int(alive.sum())
            obs, reward, terminated, truncated, _ = self.env.step(actions)
            returns += alive * discount * reward[:n]
            rewarded |= alive & (reward[:n] != 0)
            alive &= ~(terminated[:n] | truncated[:n])
            discount *= self.gamma
            if not alive.any():
                break
            tokenizer.encode_rows(obs["mission"][:n], tokens)
            with torch.inference_mode():
                logits, values = net(
                    torch.from_numpy(obs["image"][:n].copy()),
                    torch.from_numpy(obs["direction"][:n].astype(np.int64)),
                    torch.from_numpy(tokens),
                    torch.zeros((n, net.num_actions)),
                    torch.zeros(n, dtype=torch.bool),
                )
            if step == self.horizon - 1:
                returns += alive * discount * values.double().numpy()
            else:
                actions[:n] = logits.argmax(1).numpy()
        return returns.reshape(len(states), k), rewarded.reshape(len(states), k)
