"""GLAM's prompt, built in C++, against an independent transcription of GLAM's code."""

from __future__ import annotations

import numpy as np
import pytest
from bidir_core import _core, hash_prompts, make_vec
from glam_prompt_reference import ACTIONS, Queues, generate_prompt

TASK = "BabyAI-GoToRedBallNoDists-v0"


def test_the_glam_prompt_of_given_observations_matches_glam():
    obs = [["You see a wall 2 steps forward", "You see a wall 1 step right"],
           ["You see a red ball 1 step left and 2 steps forward"], []]
    for k in range(1, 4):
        want = generate_prompt(obs[:k], ACTIONS[: k - 1], "go to the red ball")
        assert _core.glam_prompt("go to the red ball", obs[:k], ACTIONS[: k - 1]) == want
    assert _core.glam_prompt("m", [[]], []) == (
        "Possible action of the agent: turn left, turn right, go forward, pick up, drop, "
        "toggle \n Goal of the agent: m \n Observation 0: \n Action 0: "
    )
    with pytest.raises(ValueError, match="one action per observation"):
        _core.glam_prompt("m", [["a"]], ["turn left", "turn right"])


@pytest.mark.parametrize("autoreset", ["SameStep", "NextStep"])
def test_env_prompts_follow_glams_queues_across_steps_and_episodes(autoreset):
    n = 6
    env = make_vec(TASK, n, prompt_style="glam", autoreset_mode=autoreset)
    assert env.prompt_style == "glam"
    env.reset(seed=11)
    ref = Queues(n)
    for j, d in enumerate(env.descriptions()):
        ref.reset(j, d)
    rng = np.random.default_rng(0)
    needs_reset = np.zeros(n, bool)
    episodes = 0
    for _ in range(300):
        goals = env.missions()
        assert env.prompts() == [ref.prompt(j, goals[j]) for j in range(n)]
        np.testing.assert_array_equal(env.prompt_hashes(), hash_prompts(env.prompts()))
        actions = rng.integers(0, 6, n)
        _, _, term, trunc, _ = env.step(actions)
        done = term | trunc
        episodes += int(done.sum())
        desc = env.descriptions()
        for j in range(n):
            if autoreset == "SameStep" and done[j]:
                ref.reset(j, desc[j])  # GLAM: the queues restart at the new episode
            elif autoreset == "NextStep" and needs_reset[j]:
                ref.reset(j, desc[j])  # this step began the next episode
            else:
                ref.step(j, ACTIONS[actions[j]], desc[j])
        needs_reset = done if autoreset == "NextStep" else needs_reset
    assert episodes > 5  # the test crossed episode boundaries


def test_short_prompts_are_unchanged_and_set_state_restarts_the_history():
    env = make_vec(TASK, 2, seed=3)
    assert env.prompt_style == "short" and env.reset() and env.prompts()[0].startswith("Goal")
    glam = make_vec(TASK, 2, seed=3, prompt_style="glam")
    glam.reset()
    for _ in range(3):
        glam.step(np.array([0, 1]))
    assert glam.prompts()[0].count("Observation") == 3
    glam.set_state(0, glam.get_state(1))
    assert glam.prompts()[0] == generate_prompt([glam.descriptions()[0]], [], glam.missions()[0])
    with pytest.raises(ValueError, match="prompt_style"):
        make_vec(TASK, 1, prompt_style="long")
