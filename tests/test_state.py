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


def _fresh_state(task="MiniGrid-DoorKey-5x5-v0"):
    env = bidir_core.make_vec(task, 1, seed=0)
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
        # It would step past its limit: only an episode just cut (needs_reset) is there.
        "step count at max, no reset": lambda s: s.update(step_count=s["max_steps"],
                                                          needs_reset=False),
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
        "max steps overflows": lambda s: s.update(max_steps=2**31 - 1, step_count=2**31 - 1),
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


def _mixed_actions(env, rng):
    """Half the oracle's actions (instructions make progress), half random ones."""
    random = rng.integers(0, 7, env.num_envs)
    return np.where(rng.random(env.num_envs) < 0.5, env.expert_actions(), random)


def _step_row(result, first: int = 0) -> np.ndarray:
    """A step's observations, rewards, terminated and truncated of envs ``first:``, as one
    float64 row (exact for these dtypes)."""
    obs, reward, terminated, truncated, _ = result
    parts = (obs["image"], obs["direction"], obs["mission"], reward, terminated, truncated)
    return np.concatenate([np.asarray(x[first:], np.float64).reshape(-1) for x in parts])


def _assert_states_equal(a, b, where=""):
    """Deep equality of two get_state dicts (arrays compared by value)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _assert_states_equal(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            _assert_states_equal(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


@pytest.mark.parametrize("task", bidir_core.list_tasks())
def test_every_task_round_trips_into_another_env_and_steps_identically(task):
    """States after mixed oracle/random steps, pickled and restored (set_state, and
    snapshot/restore) into other envs, replay the source for 150 more steps, episode ends
    and automatic resets included."""
    n = 3
    src = bidir_core.make_vec(task, n, seed=11)
    dst = bidir_core.make_vec(task, n + 1, seed=99)
    fast = bidir_core.make_vec(task, n, seed=5)
    src.reset()
    dst.reset()
    fast.reset()
    rng = np.random.default_rng(7)
    for _ in range(25):
        src.step(_mixed_actions(src, rng))
    states = [pickle.loads(pickle.dumps(src.get_state(i))) for i in range(n)]
    for i, s in enumerate(states):
        dst.set_state(i + 1, s)
        _assert_states_equal(dst.get_state(i + 1), s)
    fast.restore(np.arange(n), [src.snapshot(i) for i in range(n)])
    steps: dict[str, list[np.ndarray]] = {"src": [], "dst": [], "fast": []}
    for _ in range(150):
        acts = _mixed_actions(src, rng)
        steps["src"].append(_step_row(src.step(acts)))
        steps["dst"].append(_step_row(dst.step(np.concatenate([[0], acts])), first=1))
        steps["fast"].append(_step_row(fast.step(acts)))
    replay = np.stack(steps["src"])
    for name in ("dst", "fast"):  # compared once: 150 steps x 6 arrays of asserts cost seconds
        differ = np.flatnonzero((np.stack(steps[name]) != replay).any(axis=1))
        assert not differ.size, f"{task}: {name} steps differently from step {differ[0]} on"
    for i in range(n):
        _assert_states_equal(dst.get_state(i + 1), src.get_state(i))
        _assert_states_equal(fast.get_state(i), src.get_state(i))


def test_tree_state_holds_the_verification_progress():
    """A sequence half done restores half done: the second instruction alone ends it."""
    env = bidir_core.make_vec("BabyAI-GoToSeq-v0", 8, seed=3)
    env.reset()
    for _ in range(400):
        nodes = [env.get_state(i)["instr"]["tree"]["nodes"] for i in range(8)]
        done = [i for i, nd in enumerate(nodes) if (nd[:, 6:8] == 1).any()]
        if done:
            break
        env.step(env.expert_actions())
    assert done, "no sequence made progress"
    state = env.get_state(done[0])
    other = bidir_core.make_vec("BabyAI-GoToSeq-v0", 1, seed=0)
    other.reset()
    other.set_state(0, state)
    np.testing.assert_array_equal(other.get_state(0)["instr"]["tree"]["nodes"],
                                  state["instr"]["tree"]["nodes"])


def _tree_state():
    return _fresh_state("BabyAI-BossLevel-v0")


def _tree_mutations():
    def tree(key, value):
        def f(s):
            s["instr"]["tree"][key] = value
        return f

    def node(k, col, value):
        def f(s):
            s["instr"]["tree"]["nodes"][k, col] = value
        return f

    def desc(key, value):
        def f(s):
            s["instr"]["tree"]["descs"][0][key] = value
        return f

    def ids(x, y, value):
        def f(s):
            s["instr"]["tree"]["ids"][x, y] = value
        return f

    return {
        "tree missing": lambda s: s["instr"].__setitem__("tree", None),
        "tree not a dict": lambda s: s["instr"].__setitem__("tree", [1]),
        "kind 0 on a tree level": lambda s: s["instr"].__setitem__("kind", 0),
        "nodes dtype": tree("nodes", np.zeros((1, 9), np.int32)),
        "nodes shape": tree("nodes", np.zeros((1, 8), np.int64)),
        "no nodes": tree("nodes", np.zeros((0, 9), np.int64)),
        "too many nodes": tree("nodes", np.zeros((65, 9), np.int64)),
        "node kind": node(0, 0, 7),
        "node strict": node(0, 1, 2),
        "desc out of range": node(0, 2, 99),
        "desc2 on an action that has none": node(1, 3, 0),
        "child not before its parent": node(6, 4, 6),
        "sequence child negative": node(6, 5, -1),
        "status": node(0, 6, 3),
        "pre_carrying on a go-to": node(4, 8, 3),
        "pre_carrying out of range": node(0, 8, 10**6),
        "root": tree("root", 7),
        "root type": tree("root", "0"),
        "descs not a list": tree("descs", {}),
        "desc not a dict": tree("descs", [5]),
        "desc missing": tree("descs", []),
        "desc type goal": desc("type", 8),
        "desc color": desc("color", 6),
        "desc loc": desc("loc", 4),
        "obj_set id": desc("obj_set", np.array([10**6], np.int64)),
        "obj_set negative": desc("obj_set", np.array([-1], np.int64)),
        "obj_set duplicate": lambda s: desc("obj_set", np.repeat(
            s["instr"]["tree"]["descs"][0]["obj_set"][:1], 2))(s),
        "obj_set 2-d": desc("obj_set", np.zeros((1, 1), np.int64)),
        "obj_poss outside": desc("obj_poss", np.array([[99, 1]], np.int64)),
        "ids shape": tree("ids", np.zeros((3, 3), np.int32)),
        "ids dtype": tree("ids", np.zeros((22, 22), np.int64)),
        "id on an empty cell": lambda s: ids(*np.argwhere(s["grid"][:, :, 0] == 1)[0], 5)(s),
        "no id on a wall": ids(0, 0, -1),
        "id used twice": lambda s: ids(0, 1, int(s["instr"]["tree"]["ids"][0, 0]))(s),
        "id out of range": ids(0, 0, 10**6),
        "cur_pos too short": tree("cur_pos", np.zeros((3, 2), np.int64)),
        "cur_pos outside": lambda s: s["instr"]["tree"]["cur_pos"].__setitem__(0, [-5, 3]),
        "cur_pos of a grid object elsewhere": lambda s: s["instr"]["tree"]["cur_pos"].__setitem__(
            0, [1, 1]),
        "carried id with empty hands": tree("carried_id", 0),
        "start_carrying on a wall": tree("start_carrying", (0, 0)),
        "start_carrying outside": tree("start_carrying", (-3, 2)),
    }


@pytest.mark.parametrize("name", list(_tree_mutations()))
def test_malformed_tree_states_are_rejected_and_change_nothing(name):
    env, state = _tree_state()
    before = env.get_state(0)
    bad = copy.deepcopy(state)
    _tree_mutations()[name](bad)
    with pytest.raises((ValueError, TypeError)):
        env.set_state(0, bad)
    _assert_states_equal(env.get_state(0), before)


def test_a_tree_is_refused_on_a_level_without_one():
    _, tree_state = _tree_state()
    env, state = _fresh_state()
    state["instr"]["tree"] = tree_state["instr"]["tree"]
    with pytest.raises(ValueError, match="must be None"):
        env.set_state(0, state)
    state["instr"]["kind"] = 2
    with pytest.raises(ValueError, match="kind"):
        env.set_state(0, state)


def test_snapshot_restore_checks_its_arguments_and_changes_nothing_on_error():
    env = bidir_core.make_vec("BabyAI-BossLevel-v0", 2, seed=0)
    other = bidir_core.make_vec("BabyAI-GoToLocal-v0", 1, seed=0)
    env.reset()
    other.reset()
    snap = env.snapshot(0)
    assert snap.task_id == "BabyAI-BossLevel-v0"
    before = env.get_state(1)
    bad_calls = {
        "index out of range": (IndexError, lambda: env.restore(np.array([0, 2]), [snap, snap])),
        "index dtype": (TypeError, lambda: env.restore(np.array([1], np.int32), [snap])),
        "lengths": (ValueError, lambda: env.restore(np.array([1]), [snap, snap])),
        "not a list": (TypeError, lambda: env.restore(np.array([1]), (snap,))),
        "not a snapshot": (TypeError, lambda: env.restore(np.array([1]), [before])),
        "other task": (ValueError, lambda: env.restore(np.array([1]), [other.snapshot(0)])),
    }
    for name, (err, call) in bad_calls.items():
        with pytest.raises(err):
            call()
        _assert_states_equal(env.get_state(1), before, name)
    with pytest.raises(IndexError):
        env.snapshot(2)
    fresh = bidir_core.make_vec("BabyAI-BossLevel-v0", 1, seed=0)
    with pytest.raises(RuntimeError, match="no state yet"):
        fresh.snapshot(0)
    fresh.restore(np.array([0]), [snap])  # restore gives a never-reset env its state
    _assert_states_equal(fresh.get_state(0), env.get_state(0))
    with pytest.raises(TypeError):
        pickle.dumps(snap)
