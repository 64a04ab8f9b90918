"""The student's actor-critic on the symbolic observation, the mission and a teacher hint.

Inputs, batched over B environments:

| input | shape, dtype | what |
|---|---|---|
| ``image`` | (B, 7, 7, 3) uint8 | egocentric view: object, colour, state per cell (minigrid encoding) |
| ``direction`` | (B,) int64 | agent direction 0..3 |
| ``mission`` | (B, L) int64 | word ids from ``MissionTokenizer`` (0 = padding) |
| ``hint`` | (B, A) float32 | teacher's distribution over the A actions (zeros: no teacher) |
| ``hint_valid`` | (B,) bool | whether ``hint`` holds a teacher answer |

As in the BabyAI baselines each grid cell is encoded by channel: one-hots of its object
(11), colour (6) and state (3), so that a linear map of them is the sum of per-channel
embeddings (BabyAI's "bag of words" image embedding). The 49 cell encodings, a one-hot of
the direction, the mission as a bag of words and the masked hint (hint * valid, valid)
form one sparse feature vector (``features``, no parameters), which a two-layer MLP maps
to the policy logits and the value (one linear layer for both). On a 7x7 view this learns
as fast as a convolution and, having only dense layers, lets the PPO update skip autograd
for the trunk (``PPOLearner`` backpropagates it by hand; the update is most of the CPU time
of a training run). Word order is not represented: within each task family here
(GoTo*, Pickup*, Open*, Unlock, DoorKey, Empty) no two missions differ only in order.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bidir_core import _core
from bidir_core.vector_env_buffers import IMAGE_SHAPE

__all__ = ["BABYAI_WORDS", "NUM_ACTIONS", "ActorCritic", "MissionTokenizer"]

NUM_ACTIONS = len(_core.ACTION_NAMES)

# The mission vocabulary (C++ ``cpp/env/vocab.h``): id 0 pads, id 1 is an unknown word;
# the order fixes the ids a network embeds.
BABYAI_WORDS: tuple[str, ...] = _core.MISSION_WORDS

# Cell values of the minigrid encoding: object 0..10, colour 0..5, state 0..2, one-hot
# encoded one channel after the other: 20 features per cell.
_CHANNEL_OFFSETS = (0, 11, 17)
_CELL_ONE_HOT = 20
_CELLS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]  # the 7 x 7 view


class MissionTokenizer:
    """Turns zero-padded UTF-8 mission rows into fixed-length word-id rows, with a cache.

    Missions change only at episode resets, so callers tokenise just the rows of the envs
    that reset; each distinct mission is split into words once and then served from the
    cache (a dict keyed by the mission bytes).
    """

    def __init__(self, max_tokens: int = 24, words: tuple[str, ...] = BABYAI_WORDS) -> None:
        """Build the vocabulary; missions longer than max_tokens words raise ValueError."""
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.max_tokens: int = int(max_tokens)
        self.words: tuple[str, ...] = tuple(words)
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        self._cache: dict[bytes, np.ndarray] = {}

    @property
    def vocab_size(self) -> int:
        """Number of word ids, padding and unknown included."""
        return len(self.words)

    def encode(self, mission: str) -> np.ndarray:
        """Word ids of one mission string, int64 (max_tokens,), zero padded."""
        words = mission.replace(",", " , ").split()
        if len(words) > self.max_tokens:
            raise ValueError(
                f"mission {mission!r} has {len(words)} words, more than max_tokens="
                f"{self.max_tokens}"
            )
        out = np.zeros(self.max_tokens, np.int64)
        out[: len(words)] = [self.ids.get(w, 1) for w in words]
        return out

    def encode_rows(
        self, rows: np.ndarray, out: np.ndarray, index: np.ndarray | None = None
    ) -> None:
        """Write the ids of mission byte rows (N, bytes) into out (N, max_tokens), in place.

        With ``index`` only those rows are (re)tokenised: the envs that just reset.
        """
        indices = range(len(rows)) if index is None else index
        for i in indices:
            key = rows[i].tobytes()
            ids = self._cache.get(key)
            if ids is None:
                ids = self.encode(key.rstrip(b"\0").decode("utf-8"))
                self._cache[key] = ids
            out[i] = ids


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class ActorCritic(nn.Module):
    """Policy logits and value of the student from (image, direction, mission, hint)."""

    def __init__(
        self,
        vocab_size: int = len(BABYAI_WORDS),
        num_actions: int = NUM_ACTIONS,
        hidden: int = 128,
        use_hints: bool = True,
    ) -> None:
        """Create the three linear layers; hidden is the MLP width. With ``use_hints``
        False the hint inputs stay zero (the hint still reaches the buffer, for the
        guidance loss and guided exploration)."""
        super().__init__()
        self.num_actions = num_actions
        self.use_hints = use_hints
        self.vocab_size = vocab_size
        self._direction_at = _CELLS * _CELL_ONE_HOT
        self._mission_at = self._direction_at + 4
        self._hint_at = self._mission_at + vocab_size
        self.num_features: int = self._hint_at + num_actions + 1
        self.fc1: nn.Linear = _init(nn.Linear(self.num_features, hidden), 2**0.5)
        self.fc2: nn.Linear = _init(nn.Linear(hidden, hidden), 2**0.5)
        # One layer for both heads: rows 0..A-1 are the policy logits, row A the value.
        self.heads: nn.Linear = nn.Linear(hidden, num_actions + 1)
        nn.init.zeros_(self.heads.bias)
        with torch.no_grad():
            nn.init.orthogonal_(self.heads.weight[:num_actions], 0.01)
            nn.init.orthogonal_(self.heads.weight[num_actions:], 1.0)
        # Feature index of (cell k, channel c, value 0): 20 * k + channel offset.
        channels = torch.tensor(_CHANNEL_OFFSETS).repeat(_CELLS)
        offsets = torch.arange(_CELLS).repeat_interleave(IMAGE_SHAPE[2]) * _CELL_ONE_HOT + channels
        self.register_buffer("_cell_offsets", offsets, persistent=False)

    def layers(self) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
        """The MLP's layers, in order; ReLU follows all but the last."""
        return self.fc1, self.fc2, self.heads

    def features(
        self,
        image: torch.Tensor,
        direction: torch.Tensor,
        mission: torch.Tensor,
        hint: torch.Tensor,
        hint_valid: torch.Tensor,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network's input vector (B, num_features) float32; no parameters involved."""
        b = image.shape[0]
        idx = torch.cat(
            [
                image.reshape(b, self._cell_offsets.numel()).long() + self._cell_offsets,
                (direction + self._direction_at).unsqueeze(1),
                mission + self._mission_at,
            ],
            dim=1,
        )
        x = torch.zeros((b, self.num_features)) if out is None else out.zero_()
        x.scatter_(1, idx, 1.0)
        if self.use_hints:
            valid = hint_valid.to(x.dtype).unsqueeze(1)
            x[:, self._hint_at : -1] = hint * valid
            x[:, -1:] = valid
        return x

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, A), value (B,)) from features(...) output."""
        h = torch.relu(self.fc2(torch.relu(self.fc1(x))))
        out = self.heads(h)
        return out[:, : self.num_actions], out[:, self.num_actions]

    def forward(
        self,
        image: torch.Tensor,
        direction: torch.Tensor,
        mission: torch.Tensor,
        hint: torch.Tensor,
        hint_valid: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B, A) float32, value (B,) float32)."""
        return self.forward_features(self.features(image, direction, mission, hint, hint_valid))
