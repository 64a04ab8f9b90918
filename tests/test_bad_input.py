"""Bad input gets a clear exception naming the argument, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import bidir_core


@pytest.fixture
def env():
    e = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 4, seed=0)
    e.reset()
    return e


def test_unknown_task_suggests_close_matches():
    with pytest.raises(ValueError, match="did you mean 'BabyAI-GoToRedBallNoDists-v0'"):
        bidir_core.make_vec("BabyAI-GoToRedBallNoDist-v0", 2)
    with pytest.raises(ValueError, match="unknown task id"):
        bidir_core.make_vec("CartPole-v1", 2)
    with pytest.raises(TypeError, match="task_id"):
        bidir_core.make_vec(3, 2)


@pytest.mark.parametrize("n", [0, -3])
def test_num_envs_must_be_positive(n):
    with pytest.raises(ValueError, match="num_envs"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", n)


def test_num_envs_and_threads_types():
    with pytest.raises(TypeError, match="num_envs"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2.5)
    with pytest.raises(ValueError, match="num_threads"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2, num_threads=0)
    with pytest.raises(TypeError, match="num_threads"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2, num_threads=None)
    with pytest.raises(ValueError, match="autoreset_mode"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2, autoreset_mode="sometimes")


def test_actions_wrong_length(env):
    with pytest.raises(ValueError, match=r"actions must have shape \(4,\)"):
        env.step(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="actions must have shape"):
        env.step(np.zeros((4, 1), np.int64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_, object])
def test_actions_wrong_dtype(env, dtype):
    with pytest.raises(TypeError, match="actions must be integers"):
        env.step(np.zeros(4, dtype))


@pytest.mark.parametrize("bad", [-1, 7, 2**40])
def test_actions_out_of_range_step_nothing(env, bad):
    before = env.get_state(0)
    actions = np.array([2, 2, bad, 2])
    with pytest.raises(ValueError, match=r"actions\[2\].*out of range"):
        env.step(actions)
    assert env.get_state(0)["step_count"] == before["step_count"]


def test_uint64_actions_out_of_range(env):
    with pytest.raises(ValueError, match="out of range"):
        env.step(np.array([0, 0, 0, 2**63 + 1], np.uint64))


def test_other_integer_dtypes_are_accepted(env):
    for dtype in (np.int8, np.uint8, np.int32, np.uint64):
        env.step(np.full(4, 2, dtype))


def test_bad_seeds(env):
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=-1)
    with pytest.raises(TypeError, match="seed"):
        env.reset(seed=1.5)
    with pytest.raises(ValueError, match="seed must have 4 entries"):
        env.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="seed"):
        bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2, seed=-5)


def test_bad_reset_options(env):
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"foo": 1})
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.ones(3, bool)})


def test_step_before_reset():
    e = bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2)
    with pytest.raises(RuntimeError, match="reset"):
        e.step(np.zeros(2, np.int64))


def test_describe_images_checks_input():
    with pytest.raises(TypeError, match="images must have dtype uint8"):
        bidir_core.describe_images(np.zeros((2, 7, 7, 3), np.int64))
    with pytest.raises(ValueError, match="images must have shape"):
        bidir_core.describe_images(np.zeros((2, 7, 7), np.uint8))
