"""Fills a RolloutBuffer by stepping C++ environments with the student's policy.

The N environments are split into ``num_groups`` groups (1 or 2), each its own
``BidirVecEnv``. With two groups, group 0's batched ``step`` (C++, GIL released) runs in a
worker thread while the network infers on group 1, and the other way round, so env
stepping overlaps the network on the second core. On GoToRedBallNoDists a 16-env step
takes a few microseconds, less than the thread hand-off and the second, smaller network
call cost, so one group (the default) is faster there; two pay off for slower tasks.

Every buffer is allocated once; the network reads and writes ``torch.from_numpy`` views
of the ``RolloutBuffer`` rows; there is no per-env Python loop except over the envs whose
episode just ended (their new mission is tokenised, their bootstrap value computed).

Autoreset is ``SameStep``: a truncated episode's final observation is valued here
(``final_values``) so that GAE bootstraps it, as ``RolloutBuffer.compute_gae`` expects.

An ``Actor`` may act instead of the student (the ``glam`` mode: the teacher LM is the
policy): it then gives the log-probs and values of every step and of the observations
that bootstrap GAE, and the student's network is not called.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from bidir_core.rollout import RolloutBuffer
from bidir_core.student.network import ActorCritic, MissionTokenizer
from bidir_core.vector_env import BidirVecEnv, make_vec
from bidir_core.vector_env_buffers import IMAGE_SHAPE

__all__ = ["Actor", "Episodes", "HintSource", "RolloutCollector"]


class HintSource(Protocol):
    """Supplies the teacher hint for a group of envs before the student acts.

    A hint source may also have an ``explore_eps`` attribute: the probability of acting
    from the hint instead of the student (guided exploration; 0 or absent: never).
    """

    def fill_hints(
        self, t: int, env: BidirVecEnv, env_offset: int, hints: np.ndarray, valid: np.ndarray
    ) -> None:
        """At rollout step t, write πT for envs env_offset.. (``env``'s envs) into hints
        (n, A) and valid (n,)."""


class Actor(Protocol):
    """A policy with a value function that acts in the envs instead of the student."""

    def act(self, t: int, env: BidirVecEnv, env_offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        """At rollout step t, log-probs (n, 7) over the env actions and values (n,) for
        envs env_offset.. (``env``'s envs, in their current state)."""

    def values(self, images: np.ndarray, missions: np.ndarray) -> np.ndarray:
        """Values (n,) float32 of observations given as images (n, 7, 7, 3) uint8 and
        mission bytes (n, MISSION_BYTES) uint8."""


@dataclass
class Episodes:
    """Episodes that ended during one rollout, in the order they ended."""

    returns: np.ndarray
    lengths: np.ndarray
    successes: np.ndarray

    def __len__(self) -> int:
        return len(self.returns)


class _Group:
    """One BidirVecEnv covering envs [lo, hi) of the rollout, and views into the buffer."""

    def __init__(self, index: int, env: BidirVecEnv, lo: int, hi: int) -> None:
        self.index = index
        self.env = env
        self.lo, self.hi = lo, hi
        self.obs: dict[str, np.ndarray] = {}
        self.pending: Future | None = None
        self.result: Any = None


class RolloutCollector:
    """Steps ``num_envs`` envs of ``task`` for ``num_steps`` steps per ``collect()`` call."""

    def __init__(
        self,
        task: str,
        num_envs: int,
        num_steps: int,
        seed: int,
        net: ActorCritic,
        tokenizer: MissionTokenizer,
        *,
        num_groups: int = 1,
        env_threads: int = 1,
        hint_source: HintSource | None = None,
        actor: Actor | None = None,
        prompt_style: str = "short",
    ) -> None:
        """Create and reset the envs (env i gets seed + i) and allocate all buffers.

        With an ``actor``, it acts and values the observations; ``net`` is not called.
        """
        if num_groups not in (1, 2):
            raise ValueError(f"num_groups must be 1 or 2, got {num_groups}")
        if num_envs < num_groups:
            raise ValueError(f"num_envs must be >= num_groups ({num_groups}), got {num_envs}")
        self.net = net
        self.tokenizer = tokenizer
        self.hint_source = hint_source
        self.actor = actor
        self.num_envs: int = num_envs
        self.num_steps: int = num_steps
        self.buffer: RolloutBuffer = RolloutBuffer(num_steps, num_envs, num_actions=net.num_actions)
        self.mission: torch.Tensor = torch.zeros(
            (num_steps, num_envs, tokenizer.max_tokens), dtype=torch.int64
        )
        self._mission_np = self.mission.numpy()
        self._current_mission = np.zeros((num_envs, tokenizer.max_tokens), np.int64)
        self.generator: torch.Generator = torch.Generator().manual_seed(seed)
        bounds = [num_envs * g // num_groups for g in range(num_groups + 1)]
        self.groups: list[_Group] = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            env = make_vec(task, hi - lo, num_threads=env_threads, autoreset_mode="SameStep",
                           prompt_style=prompt_style, copy=False, stats_key="episode")
            group = _Group(len(self.groups), env, lo, hi)
            group.obs, _ = env.reset(seed=seed + lo)
            tokenizer.encode_rows(group.obs["mission"], self._current_mission[lo:hi])
            self.groups.append(group)
        self._executor = ThreadPoolExecutor(1) if num_groups > 1 else None
        views = self.buffer.torch_views()
        # Per (step, group): the network's inputs and outputs as views of buffer rows.
        self._views = [
            [
                {k: views[k][t, g.lo : g.hi] for k in views}
                | {"mission": self.mission[t, g.lo : g.hi]}
                for g in self.groups
            ]
            for t in range(num_steps)
        ]
        self._next_obs = {
            "image": torch.zeros((num_envs, *IMAGE_SHAPE), dtype=torch.uint8),
            "direction": torch.zeros(num_envs, dtype=torch.int64),
            "mission": torch.zeros((num_envs, tokenizer.max_tokens), dtype=torch.int64),
        }
        self.next_values: np.ndarray = np.zeros(num_envs, np.float32)
        self._episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # -- one rollout -----------------------------------------------------------------------
    def collect(self) -> Episodes:
        """Fill the buffer with num_steps steps of every env; return the finished episodes.

        Afterwards ``next_values`` holds V of the observations after the last step, ready
        for ``buffer.compute_gae(collector.next_values, ...)``.
        """
        self._episodes = []
        with torch.inference_mode():
            for t in range(self.num_steps):
                for g in self.groups:
                    if g.pending is not None:
                        self._finish_step(g, t - 1)
                    self._act(g, t)
                    actions = self.buffer.actions[t, g.lo : g.hi]
                    if self._executor is None:
                        g.result = g.env.step(actions)
                        self._finish_step(g, t)
                    else:
                        g.pending = self._executor.submit(g.env.step, actions)
            for g in self.groups:
                if g.pending is not None:
                    self._finish_step(g, self.num_steps - 1)
            self._bootstrap()
        if self._episodes:
            r, length, s = (np.concatenate(x) for x in zip(*self._episodes))
        else:
            r, length, s = np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(0, bool)
        return Episodes(r, length, s)

    def _act(self, g: _Group, t: int) -> None:
        buf, lo, hi = self.buffer, g.lo, g.hi
        np.copyto(buf.image[t, lo:hi], g.obs["image"])
        np.copyto(buf.direction[t, lo:hi], g.obs["direction"])
        np.copyto(self._mission_np[t, lo:hi], self._current_mission[lo:hi])
        v = self._views[t][g.index]
        if self.actor is not None:
            logp, values = self.actor.act(t, g.env, lo)
            self._sample(v, logp, values)
            return
        if self.hint_source is not None:
            self.hint_source.fill_hints(t, g.env, lo, buf.hints[t, lo:hi], buf.hint_valid[t, lo:hi])
        logits, values = self.net(
            v["image"], v["direction"], v["mission"], v["hints"], v["hint_valid"]
        )
        student = logp = torch.log_softmax(logits, dim=-1)
        eps = getattr(self.hint_source, "explore_eps", 0.0)
        if eps > 0.0:
            # Guided exploration: act from mu = (1 - eps) piS + eps piT where a hint is
            # valid; the stored log-prob is log mu, the behaviour policy's.
            weight = v["hint_valid"].to(logp.dtype).unsqueeze(1) * eps
            logp = torch.log((1.0 - weight) * logp.exp() + weight * v["hints"])
        self._sample(v, logp, values, student)

    def _sample(self, v: dict[str, torch.Tensor], logp: torch.Tensor, values: torch.Tensor,
                student: torch.Tensor | None = None) -> None:
        """Draw the actions from exp(logp); write them, their log-probs (and the student's
        own, ``student``, when the behaviour policy is another) and the values."""
        actions = torch.multinomial(logp.exp(), 1, generator=self.generator)
        v["actions"].copy_(actions.squeeze(1))
        v["logprobs"].copy_(logp.gather(1, actions).squeeze(1))
        if student is None or student is logp:  # the student drew it: log mu is log piS
            v["student_logprobs"].copy_(v["logprobs"])
        else:
            v["student_logprobs"].copy_(student.gather(1, actions).squeeze(1))
        v["values"].copy_(values)

    def _finish_step(self, g: _Group, t: int) -> None:
        if g.pending is not None:
            g.result = g.pending.result()
            g.pending = None
        obs, reward, terminated, truncated, info = g.result
        g.result = None
        buf, lo, hi = self.buffer, g.lo, g.hi
        np.copyto(buf.rewards[t, lo:hi], reward)
        np.copyto(buf.terminated[t, lo:hi], terminated)
        np.copyto(buf.truncated[t, lo:hi], truncated)
        if "_episode" not in info:
            return
        done = np.flatnonzero(info["_episode"])
        ep = info["episode"]
        self._episodes.append(
            (ep["r"][done].copy(), ep["l"][done].copy(), ep["success"][done].copy())
        )
        cut = done[truncated[done] & ~terminated[done]]
        if len(cut):  # bootstrap V(final observation) of episodes cut by the time limit
            final = info["final_obs"]
            if self.actor is not None:
                values = self.actor.values(final["image"][cut], final["mission"][cut])
            else:
                _, student_values = self.net(
                    torch.from_numpy(final["image"][cut]),
                    torch.from_numpy(final["direction"][cut]),
                    torch.from_numpy(self._current_mission[cut + lo]),
                    torch.from_numpy(buf.hints[t, cut + lo]),
                    torch.from_numpy(buf.hint_valid[t, cut + lo]),
                )
                values = student_values.numpy()
            buf.final_values[t, cut + lo] = values
        self.tokenizer.encode_rows(obs["mission"], self._current_mission[lo:hi], done)

    def _bootstrap(self) -> None:
        if self.actor is not None:
            self.next_values[:] = self.actor.values(
                np.concatenate([g.obs["image"] for g in self.groups]),
                np.concatenate([g.obs["mission"] for g in self.groups]),
            )
            return
        nxt = self._next_obs
        for g in self.groups:
            lo, hi = g.lo, g.hi
            nxt["image"][lo:hi].numpy()[...] = g.obs["image"]
            nxt["direction"][lo:hi].numpy()[...] = g.obs["direction"]
        nxt["mission"].numpy()[...] = self._current_mission
        last = self.num_steps - 1
        hints = torch.from_numpy(self.buffer.hints[last])
        valid = torch.from_numpy(self.buffer.hint_valid[last])
        _, values = self.net(nxt["image"], nxt["direction"], nxt["mission"], hints, valid)
        self.next_values[:] = values.numpy()

    # -- checkpointing ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue identically: env states and the sampling RNG."""
        return {
            "envs": [[g.env.get_state(i) for i in range(g.env.num_envs)] for g in self.groups],
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict()`` output; a mismatching layout raises ValueError."""
        envs = state["envs"]
        if [len(e) for e in envs] != [g.env.num_envs for g in self.groups]:
            raise ValueError(
                "checkpoint env layout "
                f"{[len(e) for e in envs]} does not match this run's {[g.env.num_envs for g in self.groups]}"
            )
        for g, states in zip(self.groups, envs):
            for i, s in enumerate(states):
                g.env.set_state(i, s)
            self.tokenizer.encode_rows(g.obs["mission"], self._current_mission[g.lo : g.hi])
        self.generator.set_state(state["generator"])

    def close(self) -> None:
        """Stop the stepping thread and close the envs."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        for g in self.groups:
            g.env.close()
