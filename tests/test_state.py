"""get_state / set_state: exact round trips, portability, and rejection of bad states."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from conftest import make_reference

import bidir_core


def _play(env, actions):
    out = []
    for a in actions:
        obs, rew, term, trunc, _ = env.step(a)
        out.append((obs["image"].copy(), obs["direction"].copy(), rew.copy(), term.copy(),
                    trunc.copy(), tuple(env.missions())))
    return out


@pytest.mark.parametrize("task", ["BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-6x6-v0"])
def test_round_trip_replays_exactly_across_episode_boundaries(task):
    env = bidir_core.make_vec(task, 4, seed=8)
    env.reset()
    rng = np.random.default_rng(0)
    _play(env, rng.integers(0, 7, (30, 4)))
    states = [env.get_state(i) for i in range(4)]
    actions = rng.integers(0, 7, (300, 4))  # long enough for several auto-resets
    first = _play(env, actions)
    for i, s in enumerate(states):
        env.set_state(i, pickle.loads(pickle.dumps(s)))
    second = _play(env, actions)
    for a, b in zip(first, second):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_moves_between_envs_and_matches_numpy_rng():
    a = bidir_core.make_vec("BabyAI-GoToRedBallGrey-v0", 2, seed=3)
    b = bidir_core.make_vec("BabyAI-GoToRedBallGrey-v0", 3, seed=50)
    a.reset()
    b.reset()
    state = a.get_state(1)
    b.set_state(2, state)
    np.testing.assert_array_equal(b._obs["image"][2], a._obs["image"][1])
    assert b.missions()[2] == a.missions()[1]
    ref = make_reference("BabyAI-GoToRedBallGrey-v0")
    ref.reset(seed=4)
    assert state["rng"] == ref.np_random.bit_generator.state
    assert tuple(state["agent_pos"]) == tuple(int(v) for v in ref.agent_pos)
    assert state["agent_dir"] == ref.agent_dir
    assert state["max_steps"] == ref.max_steps
    np.testing.assert_array_equal(state["grid"][:, :, :3], ref.grid.encode())


def _fresh_state():
    env = bidir_core.make_vec("MiniGrid-DoorKey-5x5-v0", 1, seed=0)
    env.reset()
    return env, env.get_state(0)


def _mutations():
    def set_(key, value):
        def f(s):
            s[key] = value
        return f

    def grid_cell(x, y, cell):
        def f(s):
            s["grid"][x, y] = cell
        return f

    return {
        "not a dict": lambda s: "oops",
        "missing key": lambda s: s.pop("grid") is None or None,
        "version": set_("version", 99),
        "task": set_("task", "MiniGrid-Empty-5x5-v0"),
        "grid shape": set_("grid", np.zeros((4, 4, 6), np.uint8)),
        "grid dtype": set_("grid", np.zeros((5, 5, 6), np.int32)),
        "object type": grid_cell(1, 1, [42, 0, 0, 1, 0, 0]),
        "color": grid_cell(1, 1, [6, 9, 0, 1, 0, 0]),
        "door state": grid_cell(1, 1, [4, 0, 7, 1, 0, 0]),
        "agent out of grid": set_("agent_pos", (9, 9)),
        "agent in wall": set_("agent_pos", (0, 0)),
        "direction": set_("agent_dir", 4),
        "carrying a door": set_("carrying", np.array([4, 0, 0, 1, 0, 0], np.uint8)),
        "step count": set_("step_count", -1),
        "step count past max": set_("step_count", 10**6),
        "max steps": set_("max_steps", 0),
        "mission type": set_("mission", 5),
        "rng inc even": lambda s: s["rng"]["state"].__setitem__("inc", 2),
        "rng uinteger": lambda s: s["rng"].__setitem__("uinteger", 2**40),
        "rng generator": lambda s: s["rng"].__setitem__("bit_generator", "MT19937"),
        "targets shape": lambda s: s["instr"].__setitem__("targets", np.zeros((2, 3), np.int64)),
        # The whole state is validated, not only the cell the agent faces.
        "outer wall removed": grid_cell(0, 2, [1, 0, 0, 1, 0, 0]),
        "outer wall is a door": grid_cell(4, 3, [4, 0, 0, 1, 0, 0]),
        "corner is floor": grid_cell(0, 0, [3, 0, 0, 1, 0, 0]),
        "unseen cell": grid_cell(2, 2, [0, 0, 0, 1, 0, 0]),
        "agent cell": grid_cell(2, 2, [10, 0, 0, 1, 0, 0]),
        "box holds a door": grid_cell(2, 3, [7, 0, 0, 4, 0, 0]),
        "carrying color": set_("carrying", np.array([5, 6, 0, 1, 0, 0], np.uint8)),
        "mission not utf-8": set_("mission", b"go to the \xff ball"),
        "mission NUL": set_("mission", "get to\0 the goal"),
        "mission too long": set_("mission", "x" * (bidir_core.MISSION_BYTES + 1)),
        "return nan": set_("episode_return", float("nan")),
        "return inf": set_("episode_return", float("inf")),
        "return negative": set_("episode_return", -1.0),
        "target wraps to the grid": lambda s: s["instr"].__setitem__(
            "targets", np.array([[2**32 + 1, 1]], np.int64)),
        "target negative": lambda s: s["instr"].__setitem__(
            "targets", np.array([[-1, 1]], np.int64)),
        "instr kind": lambda s: s["instr"].__setitem__("kind", 7),
        "needs_reset type": set_("needs_reset", "yes"),
        "rng state too big": lambda s: s["rng"]["state"].__setitem__("state", 2**128),
    }


@pytest.mark.parametrize("name", list(_mutations()))
def test_malformed_states_are_rejected_and_change_nothing(name):
    env, state = _fresh_state()
    before = env.get_state(0)
    image_before = env._obs["image"].copy()
    bad = copy.deepcopy(state)
    result = _mutations()[name](bad)
    if result is not None:
        bad = result
    with pytest.raises((ValueError, TypeError)):
        env.set_state(0, bad)
    after = env.get_state(0)
    np.testing.assert_array_equal(after["grid"], before["grid"])
    assert after["rng"] == before["rng"]
    assert after["agent_pos"] == before["agent_pos"]
    np.testing.assert_array_equal(env._obs["image"], image_before)


def test_state_index_is_checked():
    env, state = _fresh_state()
    with pytest.raises(IndexError):
        env.get_state(1)
    with pytest.raises(IndexError):
        env.set_state(-1, state)
    with pytest.raises(TypeError):
        env.get_state("0")


def test_state_with_a_hole_in_the_outer_wall_cannot_walk_off_the_grid():
    # set_state used to check only the cell in front of the agent: a state whose outer
    # wall had a hole let GridEnv::Step walk the agent off the grid (heap reads and
    # writes outside it). Such states are rejected now, whatever the agent faces.
    env = bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 1, seed=0)
    env.reset()
    s = env.get_state(0)
    s["agent_pos"], s["agent_dir"] = (1, 2), 0  # faces east, into the room
    s["grid"][0, 2] = [1, 0, 0, 1, 0, 0]  # a hole behind the agent
    with pytest.raises(ValueError, match=r"outer wall"):
        env.set_state(0, s)
    s["grid"][0, 2] = [2, 5, 0, 1, 0, 0]
    env.set_state(0, s)
    for a in [0, 0, 2, 2, 2, 2, 1, 2, 2, 2, 2]:  # walk into every wall: no effect, no crash
        env.step(np.array([a]))
    pos = env.get_state(0)["agent_pos"]
    assert 1 <= pos[0] <= 3 and 1 <= pos[1] <= 3


def test_the_state_of_an_episode_cut_by_its_time_limit_restores():
    """get_state of a NextStep env whose episode was just truncated (step_count ==
    max_steps, needs_reset) is a valid state for set_state."""
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 1, seed=0)
    env.reset()
    truncated = False
    while not truncated:
        _, _, term, trunc, _ = env.step(np.array([4]))  # "drop": never succeeds
        truncated = bool(trunc[0])
    state = env.get_state(0)
    assert state["needs_reset"] and state["step_count"] == state["max_steps"]
    env.set_state(0, state)
    assert env.get_state(0)["step_count"] == state["max_steps"]
