"""Gymnasium conventions: registration, the single env, copy semantics, autoreset modes and
the Gymnasium vector wrappers on BidirVecEnv."""

import copy
import typing

import gymnasium as gym
import gymnasium.wrappers.vector as W
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import bidir_core
from bidir_core.gym_env import BidirEnv
from bidir_core.vector_env import VecEnvOptions
from conftest import CORE_TASKS

TASK = "BabyAI-GoToRedBallNoDists-v0"
# check_env runs on the core sample and on every 15th other BabyAI level; registration and
# make_vec are checked for every task.
_OTHER = [t for t in bidir_core.list_tasks() if t not in CORE_TASKS]
CHECKED_TASKS = CORE_TASKS + _OTHER[::15]


@pytest.mark.parametrize("task", CHECKED_TASKS)
def test_the_single_env_passes_gymnasiums_checker(task):
    env = gym.make(f"bidir_core/{task}")
    assert env.spec is not None and env.spec.id == f"bidir_core/{task}"
    assert isinstance(env.unwrapped, BidirEnv)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)


def test_every_task_is_registered_as_a_single_and_a_vector_env():
    for task in bidir_core.list_tasks():
        assert gym.spec(f"bidir_core/{task}").kwargs == {"task_id": task}
        vec = gym.make_vec(f"bidir_core/{task}", num_envs=2,
                           vectorization_mode="vector_entry_point")
        assert isinstance(vec, bidir_core.BidirVecEnv) and vec.num_envs == 2
        assert vec.spec.id == f"bidir_core/{task}"
        obs, _ = vec.reset(seed=0)
        assert vec.observation_space.contains(obs), task
        vec.close()


def test_single_env_missions_fit_the_text_space_on_every_task():
    for task in bidir_core.list_tasks():
        env = BidirEnv(task)
        for seed in range(3):
            obs, _ = env.reset(seed=seed)
            assert env.observation_space["mission"].contains(obs["mission"]), (task, obs)


def test_registration_is_idempotent_and_the_module_form_works():
    bidir_core.register_envs()
    bidir_core.register_envs()
    env = gym.make(f"bidir_core:bidir_core/{TASK}")
    assert env.spec.id == f"bidir_core/{TASK}"


@pytest.mark.parametrize("task", ["BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-5x5-v0",
                                  "BabyAI-PickupLoc-v0"])
def test_single_env_matches_minigrid_step_for_step(task):
    pytest.importorskip("minigrid")
    if task not in bidir_core.list_tasks():
        pytest.skip(f"{task} is not built")
    ref = gym.make(task)
    env = gym.make(f"bidir_core/{task}")
    rng = np.random.default_rng(0)
    o1, _ = env.reset(seed=5)
    o2, _ = ref.reset(seed=5)
    ends = 0
    for _ in range(300):
        assert o1["mission"] == o2["mission"] and o1["direction"] == o2["direction"]
        np.testing.assert_array_equal(o1["image"], o2["image"])
        a = env.unwrapped.expert_action() if rng.random() < 0.7 else int(rng.integers(7))
        o1, r1, t1, u1, info = env.step(a)
        o2, r2, t2, u2, _ = ref.step(a)
        assert (r1, t1, u1) == (r2, t2, u2)  # the reward exactly, in float64
        if t1 or u1:
            ends += 1
            assert info["is_success"] == (r1 > 0)
            o1, _ = env.reset()
            o2, _ = ref.reset()
    assert ends >= 3


def test_single_env_rejects_bad_actions_and_steps_after_the_end():
    env = BidirEnv(TASK)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="out of range"):
        env.step(7)
    with pytest.raises(TypeError, match="int"):
        env.step(1.5)
    while True:
        *_, term, trunc, _ = env.step(env.expert_action())
        if term or trunc:
            break
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    env.step(np.int64(2))


def test_copy_true_returns_fresh_writeable_arrays():
    env = bidir_core.make_vec(TASK, 4, seed=0)
    obs1, _ = env.reset()
    obs2, rew, term, trunc, _ = env.step(np.zeros(4, np.int64))
    for a in (obs1["image"], obs2["image"], obs2["mission"], rew, term, trunc):
        assert a.flags.writeable
    assert not np.shares_memory(obs1["image"], obs2["image"])
    before = obs2["image"].copy()
    env.step(np.full(4, 2, np.int64))
    np.testing.assert_array_equal(obs2["image"], before)


def test_copy_false_and_copy_true_give_the_same_rollout():
    out = []
    for copy_ in (True, False):
        env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 5, seed=1, copy=copy_)
        env.reset()
        rows = []
        for t in range(80):
            obs, rew, term, trunc, info = env.step(np.arange(5) * t % 7)
            rows.append((obs["image"].copy(), rew.copy(), term.copy(), trunc.copy()))
        out.append(rows)
    for a, b in zip(*out):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def _run(env, steps, actions=None):
    """Step with mostly expert actions, resetting ended envs in DISABLED mode."""
    env.reset(seed=0)
    infos = []
    for t in range(steps):
        a = env.unwrapped.expert_actions() if t % 4 else np.zeros(env.num_envs, np.int64)
        obs, rew, term, trunc, info = env.step(a)
        infos.append((rew.copy(), term.copy(), trunc.copy(), copy.deepcopy(info)))
        if env.metadata["autoreset_mode"] == AutoresetMode.DISABLED and (term | trunc).any():
            env.reset(options={"reset_mask": term | trunc})
    return infos


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_record_episode_statistics_agrees_with_the_envs_own(mode):
    env = W.RecordEpisodeStatistics(bidir_core.make_vec(TASK, 4, seed=0, autoreset_mode=mode))
    assert env.metadata["autoreset_mode"] == AutoresetMode(mode)
    n = 0
    for rew, term, trunc, info in _run(env, 150):
        if "_episode" in info:
            assert "_episode_stats" in info
            done = info["_episode"]
            np.testing.assert_array_equal(done, info["_episode_stats"])
            np.testing.assert_array_equal(done, term | trunc)
            ours, theirs = info["episode_stats"], info["episode"]
            np.testing.assert_allclose(ours["r"][done], theirs["r"][done], rtol=1e-6)
            np.testing.assert_array_equal(ours["l"][done], theirs["l"][done])
            assert (ours["t"][done] >= 0).all() and (ours["t"][~done] == 0).all()
            assert (ours["success"][done] == (ours["r"][done] > 0)).all()
            n += int(done.sum())
    assert n >= 8


def test_disabled_autoreset_requires_an_explicit_reset():
    env = bidir_core.make_vec(TASK, 2, seed=0, autoreset_mode=AutoresetMode.DISABLED)
    env.reset()
    while True:
        *_, term, trunc, _ = env.step(env.expert_actions())
        if (term | trunc).any():
            break
    with pytest.raises(RuntimeError, match="DISABLED"):
        env.step(np.zeros(2, np.int64))
    env.reset(options={"reset_mask": term | trunc})
    env.step(np.zeros(2, np.int64))
    i = int(np.flatnonzero(term | trunc)[0])
    assert env.get_state(i)["step_count"] == 1  # a real step, not an automatic reset


def test_bad_autoreset_mode_and_stats_key():
    with pytest.raises(ValueError, match="NextStep"):
        bidir_core.make_vec(TASK, 2, autoreset_mode="Sometimes")
    with pytest.raises(TypeError, match="stats_key"):
        bidir_core.make_vec(TASK, 2, stats_key=3)
    with pytest.raises(TypeError, match="copy"):
        bidir_core.make_vec(TASK, 2, copy="yes")
    env = bidir_core.make_vec(TASK, 2, seed=0, stats_key=None)
    assert all("episode_stats" not in info for *_, info in _run(env, 70))


# Each Gymnasium vector wrapper checked on BidirVecEnv, with the autoreset modes it accepts
# (Gymnasium's observation wrappers refuse SAME_STEP; NormalizeObservation wants NEXT_STEP).
WRAPPERS = {
    "RecordEpisodeStatistics": (lambda e: W.RecordEpisodeStatistics(e), "NSD"),
    "ClipReward": (lambda e: W.ClipReward(e, 0.0, 0.5), "NSD"),
    "TransformReward": (lambda e: W.TransformReward(e, lambda r: 2 * r), "NSD"),
    "NormalizeReward": (lambda e: W.NormalizeReward(e), "NSD"),
    "DictInfoToList": (lambda e: W.DictInfoToList(e), "NSD"),
    "FilterObservation": (lambda e: W.FilterObservation(e, ["image", "direction"]), "ND"),
    "FlattenObservation": (lambda e: W.FlattenObservation(e), "ND"),
    "TransformObservation": (
        lambda e: W.TransformObservation(
            e, lambda o: {**o, "image": o["image"] // 2}, e.observation_space
        ),
        "ND",
    ),
    "DtypeObservation": (lambda e: W.DtypeObservation(W.FlattenObservation(e), np.float32), "ND"),
    "NormalizeObservation": (lambda e: W.NormalizeObservation(W.FlattenObservation(e)), "N"),
}
MODES = {"N": "NextStep", "S": "SameStep", "D": "Disabled"}


@pytest.mark.parametrize(
    "name,mode",
    [(name, MODES[m]) for name, (_, modes) in WRAPPERS.items() for m in modes],
)
def test_gymnasium_vector_wrappers(name, mode):
    wrap, _ = WRAPPERS[name]
    env = wrap(bidir_core.make_vec(TASK, 4, seed=0, autoreset_mode=mode))
    infos = _run(env, 80)
    assert len(infos) == 80
    if name == "ClipReward":
        assert max(float(r.max()) for r, *_ in infos) == 0.5


def test_clip_reward_needs_copies():
    env = W.ClipReward(bidir_core.make_vec(TASK, 4, seed=0, copy=False), 0.0, 0.5)
    with pytest.raises(ValueError, match="read-only"):
        _run(env, 80)


def test_make_vec_documents_every_parameter_and_every_task():
    import inspect

    doc = inspect.getdoc(bidir_core.make_vec)
    params = inspect.signature(bidir_core.make_vec).parameters
    names = [n for n, p in params.items() if p.kind != p.VAR_KEYWORD]
    assert len(names) == 2  # task_id, num_envs; the options are VecEnvOptions' keys
    for name in names + list(typing.get_type_hints(VecEnvOptions)):
        assert f"{name}:" in doc, name
    assert "list_tasks()" in doc
    for task in CORE_TASKS:
        parts = task.split("-")  # MiniGrid-Empty-5x5-v0 is listed as MiniGrid-Empty-{5x5,...}-v0
        assert task in doc or ("-".join(parts[:2]) + "-{" in doc and parts[2] in doc), task
    assert "Example" in doc
