"""Hypothesis properties of the public API: any input gives a result or a Python exception.

Not collected by the test suite: tests/test_fuzz.py runs this file with pytest in a child
interpreter, so that a crash (segfault, abort, sanitizer report) fails a test there
instead of killing the session. ``BIDIR_FUZZ_EXAMPLES`` sets the examples per property
(default 300) and ``BIDIR_FUZZ_SEED`` a random seed (default: derandomized, the same
cases every run). Run directly: ``python -m pytest tests/fuzz_properties.py``.
"""

from __future__ import annotations

import copy
import os

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bidir_core
from bidir_core import _core

EXAMPLES = int(os.environ.get("BIDIR_FUZZ_EXAMPLES", "300"))
SEED = os.environ.get("BIDIR_FUZZ_SEED")

# Exceptions that are a correct answer to bad input.
OK_ERRORS = (TypeError, ValueError, IndexError, OverflowError, RuntimeError, MemoryError)


def fuzz(fn):
    fn = settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
        suppress_health_check=list(HealthCheck),
    )(fn)
    if SEED is not None:
        fn = seed(int(SEED))(fn)
    return fn


TASKS = bidir_core.list_tasks()


DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64,
          np.float32, np.float64, np.bool_]

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.binary(max_size=8), st.lists(st.integers(-3, 9), max_size=6),
    st.just({}), st.complex_numbers(allow_nan=False, allow_infinity=False),
)


def any_array(max_dims=3, max_side=6):
    return hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side),
    )


def maybe_strided(a: np.ndarray, flip: bool) -> np.ndarray:
    """a, or a non-contiguous / read-only view of a copy with the same shape."""
    if not flip or a.ndim == 0 or a.size < 2:
        return a
    big = np.repeat(a, 2, axis=-1)[..., ::2]
    return big


def check(call, *args, **kwargs):
    """call(...) either returns or raises one of OK_ERRORS."""
    try:
        return call(*args, **kwargs)
    except OK_ERRORS:
        return None


# -- make_vec ------------------------------------------------------------------------------

@fuzz
@given(
    task=st.one_of(st.sampled_from(TASKS), junk),
    num_envs=st.one_of(st.integers(-3, 40), junk),
    num_threads=st.one_of(st.integers(-3, 12), junk),
    mode=st.one_of(st.sampled_from(["NextStep", "SameStep", "bogus"]), junk),
    style=st.one_of(st.sampled_from(["short", "glam", "long"]), junk),
    seed_=st.one_of(st.integers(-5, 2**65), junk),
)
def test_make_vec_bad_args(task, num_envs, num_threads, mode, style, seed_):
    env = check(bidir_core.make_vec, task, num_envs, num_threads=num_threads,
                autoreset_mode=mode, prompt_style=style, seed=seed_)
    if env is not None:
        env.reset()
        env.step(np.zeros(env.num_envs, np.int64))
        env.close()
    raw = check(_core.VecEnv, task, num_envs, num_threads, mode)
    if raw is not None:
        check(raw.expert_actions)
        check(raw.step, np.zeros(1, np.int64))
        check(raw.bind_buffers, {"image": np.zeros(1)})


# -- reset / step / read-outs --------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("step"), st.lists(st.integers(-2, 8), min_size=1, max_size=8)),
        st.tuples(st.just("step_array"), any_array(2, 8), st.booleans()),
        st.tuples(st.just("reset"), st.one_of(st.integers(-2, 2**64), junk)),
        st.tuples(st.just("reset_mask"), any_array(1, 8)),
        st.tuples(st.just("raw_reset"), any_array(1, 8), any_array(1, 8)),
        st.tuples(st.just("prompts"), st.one_of(any_array(2, 8), junk)),
        st.tuples(st.just("raw_prompts"), st.one_of(any_array(2, 8), junk)),
        st.tuples(st.just("hashes"), st.one_of(any_array(1, 8), junk), st.booleans()),
        st.tuples(st.just("read"), st.sampled_from(
            ["expert_actions", "plan_lengths", "missions", "descriptions"])),
        st.tuples(st.just("state"), st.one_of(st.integers(-2, 8), junk)),
        st.tuples(st.just("style"), st.one_of(st.sampled_from(["short", "glam"]), junk)),
        st.tuples(st.just("close")),
    ),
    max_size=25,
)


@fuzz
@given(task=st.sampled_from(TASKS), n=st.integers(1, 6), threads=st.integers(1, 3),
       same_step=st.booleans(), reset_first=st.booleans(), program=ops)
def test_env_operations(task, n, threads, same_step, reset_first, program):
    env = bidir_core.make_vec(task, n, num_threads=threads, seed=0,
                              autoreset_mode="SameStep" if same_step else "NextStep")
    if reset_first:
        env.reset()
    raw = env._core
    for op in program:
        kind = op[0]
        if kind == "step":
            check(env.step, (op[1] * n)[:n])
        elif kind == "step_array":
            check(env.step, maybe_strided(op[1], op[2]))
            check(raw.step, maybe_strided(op[1], op[2]))
        elif kind == "reset":
            check(env.reset, seed=op[1])
        elif kind == "reset_mask":
            check(env.reset, options={"reset_mask": op[1]})
        elif kind == "raw_reset":
            check(raw.reset, op[1], op[2])
        elif kind == "prompts":
            check(env.prompts, op[1])
        elif kind == "raw_prompts":
            check(raw.prompts, op[1])
        elif kind == "hashes":
            out = op[1]
            if isinstance(out, np.ndarray) and op[2]:
                out.flags.writeable = False
            check(env.prompt_hashes, out)
        elif kind == "read":
            check(getattr(env, op[1]))
        elif kind == "state":
            s = check(env.get_state, op[1])
            if s is not None:
                env.set_state(op[1], s)  # a state read back is always accepted
        elif kind == "style":
            check(setattr, raw, "prompt_style", op[1])
        elif kind == "close":
            env.close()


# -- set_state with mutated states ---------------------------------------------------------

def _cell():
    return st.one_of(
        st.lists(st.integers(0, 255), min_size=6, max_size=6),
        st.tuples(st.integers(0, 11), st.integers(0, 6), st.integers(0, 3),
                  st.integers(0, 8), st.integers(0, 6), st.integers(0, 1)).map(list),
    )


mutation = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 30), st.integers(0, 30), _cell()),
    st.tuples(st.just("agent_pos"), st.one_of(
        st.tuples(st.integers(-2, 30), st.integers(-2, 30)),
        st.tuples(st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40)), junk)),
    st.tuples(st.just("agent_dir"), st.one_of(st.integers(-2, 6), junk)),
    st.tuples(st.just("carrying"), st.one_of(_cell().map(lambda c: np.array(c, np.uint8)),
                                             any_array(1, 7), junk)),
    st.tuples(st.just("step_count"), st.one_of(st.integers(-2, 2**33), junk)),
    st.tuples(st.just("max_steps"), st.one_of(st.integers(-2, 2**33), junk)),
    st.tuples(st.just("mission"), st.one_of(st.text(max_size=140), st.binary(max_size=140),
                                            junk)),
    st.tuples(st.just("episode_return"), st.one_of(st.floats(), junk)),
    st.tuples(st.just("needs_reset"), st.one_of(st.booleans(), junk)),
    st.tuples(st.just("instr"), st.sampled_from(["kind", "obj_type", "obj_color"]),
              st.one_of(st.integers(-2, 12), junk)),
    st.tuples(st.just("targets"), st.one_of(
        hnp.arrays(np.int64, st.tuples(st.integers(0, 4), st.just(2)),
                   elements=st.integers(-3, 40)),
        any_array(2, 4), junk)),
    st.tuples(st.just("rng"), st.sampled_from(["state", "inc", "has_uint32", "uinteger",
                                               "bit_generator"]),
              st.one_of(st.integers(-1, 2**130), junk)),
    st.tuples(st.just("grid"), st.one_of(any_array(3, 9), junk)),
    st.tuples(st.just("drop"), st.sampled_from(
        ["grid", "agent_pos", "rng", "instr", "mission", "version", "task"])),
    # BabyAI instruction trees: whole fields, single entries and descriptions.
    st.tuples(st.just("tree"), st.sampled_from(
        ["nodes", "root", "descs", "ids", "cur_pos", "carried_id", "start_carrying"]),
        st.one_of(st.integers(-2, 80), any_array(2, 10), junk,
                  hnp.arrays(np.int64, st.tuples(st.integers(0, 9), st.just(9)),
                             elements=st.integers(-3, 12)))),
    st.tuples(st.just("tree_entry"), st.sampled_from(["nodes", "ids", "cur_pos"]),
              st.integers(0, 2000), st.integers(-3, 1000)),
    st.tuples(st.just("desc"), st.integers(0, 8),
              st.sampled_from(["type", "color", "loc", "obj_set", "obj_poss"]),
              st.one_of(st.integers(-3, 300), any_array(2, 4), junk,
                        hnp.arrays(np.int64, st.integers(0, 4), elements=st.integers(-2, 700)))),
)


def _mutate(s, m):
    kind = m[0]
    if kind == "cell":
        g = s["grid"]
        s["grid"][m[1] % g.shape[0], m[2] % g.shape[1]] = m[3]
    elif kind in ("instr",):
        s["instr"][m[1]] = m[2]
    elif kind == "targets":
        s["instr"]["targets"] = m[1]
    elif kind == "rng":
        if m[1] in ("state", "inc"):
            s["rng"]["state"][m[1]] = m[2]
        else:
            s["rng"][m[1]] = m[2]
    elif kind == "drop":
        del s[m[1]]
    elif kind == "tree":
        s["instr"]["tree"][m[1]] = m[2]
    elif kind == "tree_entry":
        a = s["instr"]["tree"][m[1]]
        a.flat[m[2] % a.size] = m[3]
    elif kind == "desc":
        descs = s["instr"]["tree"]["descs"]
        descs[m[1] % len(descs)][m[2]] = m[3]
    else:
        s[kind] = m[1]


@fuzz
@given(task=st.sampled_from(TASKS), steps=st.integers(0, 20),
       mutations=st.lists(mutation, min_size=1, max_size=4),
       actions=st.lists(st.integers(0, 6), max_size=12), glam=st.booleans())
def test_set_state_with_mutated_states(task, steps, mutations, actions, glam):
    env = bidir_core.make_vec(task, 2, seed=1, prompt_style="glam" if glam else "short")
    env.reset()
    rng = np.random.default_rng(steps)
    for _ in range(steps):
        env.step(rng.integers(0, 7, 2))
    state = copy.deepcopy(env.get_state(0))
    before = env.get_state(1)
    for m in mutations:
        try:
            _mutate(state, m)
        except (ValueError, TypeError, OverflowError, IndexError, KeyError, AttributeError,
                ZeroDivisionError):
            pass  # the mutation itself failed (numpy refused it, a key or an array is gone)
    try:
        env.set_state(1, state)
        accepted = True
    except (ValueError, TypeError, OverflowError):
        accepted = False
    if not accepted:  # nothing changed
        after = env.get_state(1)
        np.testing.assert_array_equal(after["grid"], before["grid"])
        assert after["agent_pos"] == before["agent_pos"]
    # Whatever was accepted is a state the envs can run from.
    for a in actions:
        env.step(np.array([0, a]))
        env.expert_actions()
        env.plan_lengths()
        env.prompts()
        env.descriptions()
        env.prompt_hashes()
        env.missions()
        again = env.get_state(1)
        env.set_state(1, again)


# -- rollout, GAE, feedback and text functions ---------------------------------------------

def _rollout_args(draw, t, n):
    f = lambda: draw(hnp.arrays(np.float32, (t, n), elements=st.floats(-10, 10, width=32)))  # noqa: E731
    b = lambda: draw(hnp.arrays(np.bool_, (t, n)))  # noqa: E731
    return [f(), f(), b(), b(), f(),
            draw(hnp.arrays(np.float32, (n,), elements=st.floats(-10, 10, width=32)))]


@st.composite
def corrupted(draw, args, names):
    """args with up to two of them replaced by junk, a wrong array, a strided view or an
    alias of another argument."""
    args = list(args)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(args) - 1))
        how = draw(st.sampled_from(["junk", "array", "strided", "alias", "readonly"]))
        if how == "junk":
            args[i] = draw(junk)
        elif how == "array":
            args[i] = draw(any_array(3, 5))
        elif how == "strided" and isinstance(args[i], np.ndarray):
            args[i] = maybe_strided(args[i], True)
        elif how == "alias":
            args[i] = args[draw(st.integers(0, len(args) - 1))]
        elif how == "readonly" and isinstance(args[i], np.ndarray):
            args[i] = args[i].copy()
            args[i].flags.writeable = False
    return args


@st.composite
def gae_case(draw):
    t, n = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    args = _rollout_args(draw, t, n) + [
        draw(st.one_of(st.floats(0, 1), junk)), draw(st.one_of(st.floats(0, 1), junk)),
        np.zeros((t, n), np.float32), np.zeros((t, n), np.float32)]
    return draw(corrupted(args, None))


@fuzz
@given(args=gae_case())
def test_compute_gae(args):
    check(_core.compute_gae, *args)


@st.composite
def feedback_case(draw):
    t, n = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    lp = lambda: draw(hnp.arrays(np.float32, (t, n), elements=st.floats(-20, 0, width=32)))  # noqa: E731
    args = _rollout_args(draw, t, n) + [
        draw(hnp.arrays(np.bool_, (t, n))), lp(), lp(),
        draw(st.one_of(st.floats(0, 1), junk)), draw(st.one_of(st.floats(0, 1), junk)),
        draw(st.one_of(st.floats(0.01, 10), junk)),
        np.zeros((t, n), np.float32), np.zeros((t, n), np.float32),
        np.zeros((t, n), np.float32), np.zeros((t, n), np.float32),
        np.zeros((t, n), np.int32)]
    return draw(corrupted(args, None))


@fuzz
@given(args=feedback_case())
def test_aggregate_feedback(args):
    check(_core.aggregate_feedback, *args)


@fuzz
@given(
    num_actions=st.one_of(st.integers(-1, 9), junk), rate=st.one_of(st.floats(0, 2), junk),
    capacity=st.one_of(st.integers(-1, 40), junk),
    hashes=st.one_of(hnp.arrays(np.uint64, st.integers(0, 50)), any_array(2, 6), junk),
    actions=st.one_of(hnp.arrays(np.int64, st.integers(0, 50), elements=st.integers(-2, 10)),
                      junk),
    feedback=st.one_of(hnp.arrays(np.float32, st.integers(0, 50)), junk),
    state_mutation=st.sampled_from(["none", "keys", "values", "counts", "num_actions"]),
    junk_value=st.one_of(any_array(2, 6), junk),
)
def test_feedback_table(num_actions, rate, capacity, hashes, actions, feedback,
                        state_mutation, junk_value):
    table = check(_core.FeedbackTable, num_actions, rate, capacity)
    if table is None:  # not assume(): Hypothesis biases its draws with constants mined from
        return         # bidir_core's source, so any new module can make every draw junk here
    check(table.update, hashes, actions, feedback)
    check(table.lookup, hashes)
    state = table.state()
    if state_mutation != "none":
        state[state_mutation] = junk_value
    check(table.load_state, state)
    check(table.lookup, hashes)
    len(table)


@fuzz
@given(x=st.one_of(any_array(3, 6), junk), mask=st.one_of(st.none(), any_array(3, 6), junk),
       eps=st.one_of(st.floats(), junk), clip=st.one_of(st.floats(), junk),
       state=st.dictionaries(st.sampled_from(["mean", "var", "count"]),
                             st.one_of(st.floats(), junk)))
def test_running_mean_std(x, mask, eps, clip, state):
    rms = _core.RunningMeanStd()
    check(rms.update, x, mask)
    check(rms.normalize, x, mask, eps, clip)
    check(rms.load_state, state)
    check(rms.normalize, x)


@fuzz
@given(images=st.one_of(hnp.arrays(np.uint8, st.tuples(st.integers(0, 3), st.just(7),
                                                       st.just(7), st.just(3))),
                        any_array(4, 7), junk),
       prompts=st.one_of(st.lists(st.text(max_size=20), max_size=5), junk,
                         st.lists(junk, max_size=3)),
       mission=st.one_of(st.text(max_size=30), junk),
       observations=st.one_of(st.lists(st.lists(st.text(max_size=10), max_size=3),
                                       max_size=5), junk),
       actions=st.one_of(st.lists(st.text(max_size=10), max_size=5), junk),
       n=st.one_of(st.integers(-3, 1000), junk), seed_=st.one_of(st.integers(-3, 2**65), junk))
def test_text_and_index_functions(images, prompts, mission, observations, actions, n, seed_):
    check(_core.describe_images, images)
    check(_core.hash_prompts, prompts)
    check(_core.glam_prompt, mission, observations, actions)
    check(_core.shuffled_indices, n, seed_)


