"""BabyAI-Text descriptions made in C++ against the pure-Python reference templates."""

from __future__ import annotations

import numpy as np
import pytest
from babyai_text_reference import describe

import bidir_core

TEXT_TASKS = [
    "BabyAI-GoToLocal-v0",
    "BabyAI-GoToRedBallGrey-v0",
    "BabyAI-GoToRedBallNoDists-v0",
    "MiniGrid-DoorKey-8x8-v0",
    "MiniGrid-DoorKey-16x16-v0",
    "MiniGrid-Empty-8x8-v0",
    # BabyAI levels: boxes (with a key inside), locked/closed/open doors, a carried object.
    "BabyAI-KeyInBox-v0",
    "BabyAI-BlockedUnlockPickup-v0",
    "BabyAI-PutNextS5N2Carrying-v0",
    "BabyAI-OpenDoorsOrderN4-v0",
    "BabyAI-BossLevel-v0",
]


@pytest.mark.parametrize("task", TEXT_TASKS)
def test_descriptions_match_reference_on_many_states(task):
    env = bidir_core.make_vec(task, 16, seed=77)
    obs, _ = env.reset()
    rng = np.random.default_rng(3)
    checked = carried = 0
    for _ in range(150):
        texts = env.descriptions()
        for i in range(env.num_envs):
            assert texts[i] == describe(obs["image"][i]), f"{task} env {i}"
            carried += obs["image"][i, 3, 6, 0] not in (0, 1)
            checked += 1
        actions = np.where(rng.random(16) < 0.6, env.expert_actions(), rng.integers(0, 7, 16))
        obs, *_ = env.step(actions)
    assert checked == 150 * 16
    if "DoorKey" in task or "Carrying" in task:
        assert carried > 0  # "You carry ..." was exercised


def test_describe_images_batch_equals_reference():
    env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 64, seed=0)
    obs, _ = env.reset()
    images = np.ascontiguousarray(obs["image"])
    assert bidir_core.describe_images(images) == [describe(im) for im in images]
