"""The student judging every action a teacher could suggest from its own transitions alone.

``ActionValueCritic`` is a second network of the student's architecture (without hint
inputs) whose action outputs are read as Q(s, a). After each rollout it regresses
Q(s_t, a_t) on the rollout's lambda-returns (the student's own GAE targets) for the
actions actually taken; then it gives Q(s, .) of every query state for all the actions,
so a suggestion the student never took is judged by what the network generalises from
the ones it did. No env is stepped outside the real rollout: ``feedback_source="qhead"``
costs no simulator steps, where ``"lookahead"`` replays each query in scratch envs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bidir_core.student.network import ActorCritic
from bidir_core.vector_env_buffers import IMAGE_SHAPE

__all__ = ["ActionValueCritic"]


class ActionValueCritic:
    """Q(s, .) of the student's observations, fitted to the returns of its own rollouts."""

    def __init__(self, vocab_size: int, hidden: int, num_actions: int, *, seed: int,
                 lr: float = 1e-3, epochs: int = 4, minibatch: int = 64) -> None:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # its own initialisation; the student's RNG is left as it was
        self.net: ActorCritic = ActorCritic(vocab_size=vocab_size, hidden=hidden, use_hints=False)
        torch.random.set_rng_state(generator_state)
        self.num_actions: int = int(num_actions)
        self.optimizer: torch.optim.Adam = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.epochs: int = int(epochs)
        self.minibatch: int = int(minibatch)
        self._rng = np.random.default_rng([seed, 4242])
        self.last_loss = float("nan")

    def _features(self, image: np.ndarray, direction: np.ndarray,
                  mission: torch.Tensor) -> torch.Tensor:
        n = image.shape[0]
        return self.net.features(
            torch.from_numpy(np.ascontiguousarray(image)),
            torch.from_numpy(np.ascontiguousarray(direction, np.int64)),
            mission, torch.zeros((n, self.net.num_actions)), torch.zeros(n, dtype=torch.bool),
        )

    def _q(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)[0][:, : self.num_actions]

    def fit(self, rollout: Any, missions: torch.Tensor) -> float:
        """Regress Q(s_t, a_t) on the rollout's returns (actions outside the judged ones
        are left out); return the mean squared error of the last epoch."""
        b = rollout.batch_size
        x = self._features(rollout.image.reshape(b, *IMAGE_SHAPE), rollout.direction.reshape(b),
                           missions.reshape(b, -1))
        actions = torch.from_numpy(rollout.actions.reshape(b).astype(np.int64))
        target = torch.from_numpy(rollout.returns.reshape(b).astype(np.float32))
        rows = np.flatnonzero(actions.numpy() < self.num_actions)
        losses = []
        for _ in range(self.epochs):
            losses = []
            order = self._rng.permutation(rows)
            for lo in range(0, len(order), self.minibatch):
                mb = torch.from_numpy(order[lo : lo + self.minibatch])
                q = self._q(x[mb]).gather(1, actions[mb].unsqueeze(1)).squeeze(1)
                loss = torch.mean((q - target[mb]) ** 2)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
        self.last_loss: float = float(np.mean(losses)) if losses else float("nan")
        return self.last_loss

    def __call__(self, rollout: Any, missions: torch.Tensor, idx: np.ndarray) -> np.ndarray:
        """Q (len(idx), num_actions) float64 of the rollout's flat steps ``idx`` (t * N + n)."""
        b = rollout.batch_size
        image = rollout.image.reshape(b, *IMAGE_SHAPE)[idx]
        direction = rollout.direction.reshape(b)[idx]
        mission = missions.reshape(b, -1)[torch.from_numpy(np.asarray(idx, np.int64))]
        with torch.inference_mode():
            return self._q(self._features(image, direction, mission)).double().numpy()

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._rng.bit_generator.state = state["rng"]
