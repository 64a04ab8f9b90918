"""Misuse of the C++ envs raises a Python exception and never corrupts memory.

Calls before reset() and after close(), buffers freed behind the binding's back, two
threads on one env, thread-pool start failures and reference leaks. Cases that crashed
or hung the interpreter before run in a subprocess, so that a crash is a failure here.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import bidir_core
from bidir_core import _core
from bidir_core.vector_env_buffers import core_buffers

TASK = "BabyAI-GoToRedBallNoDists-v0"


def run_isolated(code: str, timeout: float = 60.0) -> str:
    """Runs code in a fresh interpreter; fails on a crash, a hang or a non-zero exit."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(bidir_core.__file__)), env.get("PYTHONPATH", "")]
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True, text=True, timeout=timeout, env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the child hung for {timeout} s")
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc.stdout




# -- 1. before reset() and after close() ---------------------------------------------------

_NEED_RESET = {  # name: expression on env `e`
    "expert_actions": "e.expert_actions()",
    "plan_lengths": "e.plan_lengths()",
    "prompts": "e.prompts()",
    "prompts_indices": "e.prompts([0, 1])",
    "descriptions": "e.descriptions()",
    "missions": "e.missions()",
    "prompt_hashes": "e.prompt_hashes()",
    "get_state": "e.get_state(0)",
    "render_frames": "e.render_frames()",
    "step": "e.step(np.zeros(e.num_envs, np.int64))",
}


def test_methods_before_reset_raise_in_a_child():
    # expert_actions() / plan_lengths() before reset() segfaulted (the planner read the
    # empty grid at (-1, -1)); the others returned empty garbage.
    run_isolated(f"""
        import numpy as np, bidir_core
        e = bidir_core.make_vec({TASK!r}, 4)
        for name, expr in {_NEED_RESET!r}.items():
            try:
                eval(expr)
            except RuntimeError as err:
                assert "reset()" in str(err), (name, err)
            else:
                raise SystemExit(name + " raised no RuntimeError before reset()")
    """)


def test_raw_binding_checks_reset_and_partial_masks():
    raw = _core.VecEnv(TASK, 4, 1, False)
    raw.bind_buffers(core_buffers(4))
    for call in (raw.expert_actions, raw.plan_lengths, raw.missions, raw.descriptions,
                 raw.prompt_hashes, lambda: raw.prompts(None), lambda: raw.get_state(0),
                 lambda: raw.step(np.zeros(4, np.int64))):
        with pytest.raises(RuntimeError, match=r"reset\(\)"):
            call()
    # A first reset of only some envs leaves the others without a state.
    raw.reset(np.arange(4, dtype=np.uint64), np.array([True, False, True, True]))
    assert raw.get_state(0)["task"] == TASK
    with pytest.raises(RuntimeError, match="env 1 has never been reset"):
        raw.expert_actions()
    with pytest.raises(RuntimeError, match="reset"):
        raw.get_state(1)
    # set_state gives env 1 a state: everything works then.
    raw.set_state(1, raw.get_state(0))
    assert raw.expert_actions().shape == (4,)
    raw.step(np.zeros(4, np.int64))


def test_unbound_raw_env_raises():
    raw = _core.VecEnv(TASK, 2, 1, False)
    with pytest.raises(RuntimeError, match="bind_buffers"):
        raw.reset(None, None)


def test_every_method_raises_after_close():
    env = bidir_core.make_vec(TASK, 4, seed=0, num_threads=2)
    env.reset()
    env.step(np.zeros(4, np.int64))
    state = env.get_state(0)
    env.close()
    assert env._core.closed
    calls = dict(_NEED_RESET)
    calls.update({
        "reset": lambda e: e.reset(seed=1),
        "set_state": lambda e: e.set_state(0, state),
        "prompt_style": lambda e: setattr(e._core, "prompt_style", "glam"),
        "bind_buffers": lambda e: e._core.bind_buffers(core_buffers(4)),
    })
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match="closed"):
            call(env) if callable(call) else eval(call, {"np": np, "e": env})
    env.close()  # closing twice is fine
    assert repr(env) and env.num_envs == 4


# -- 2. buffers freed behind the binding's back --------------------------------------------

def test_bound_buffers_stay_alive_after_the_dict_is_cleared():
    raw = _core.VecEnv(TASK, 64, 1, False)
    bufs = core_buffers(64)
    refs = {k: weakref.ref(v) for k, v in bufs.items()}
    raw.bind_buffers(bufs)
    bufs.clear()
    gc.collect()
    assert all(r() is not None for r in refs.values()), "the binding let its buffers die"
    raw.reset(np.arange(64, dtype=np.uint64), None)
    for _ in range(50):
        raw.step(np.full(64, 2, np.int64))
    assert refs["image"]().any()
    raw.close()
    gc.collect()
    assert all(r() is None for r in refs.values()), "close() must release the buffers"


@pytest.mark.parametrize(
    "key,value,exc,match",
    [
        ("direction", "list", TypeError, "direction must be a numpy.ndarray"),
        ("reward", "float64", TypeError, "reward must have dtype float32"),
        ("image", "shape", ValueError, "image must have shape"),
        ("mission", "strided", ValueError, "mission must be C-contiguous"),
        ("terminated", "readonly", ValueError, "terminated must be writeable"),
        ("final_image", "alias", ValueError, "must not share memory"),
    ],
)
def test_bind_buffers_validates_each_array(key, value, exc, match):
    raw = _core.VecEnv(TASK, 4, 1, False)
    bufs = core_buffers(4)
    a = bufs[key]
    bufs[key] = {
        "list": lambda: a.tolist(),
        "float64": lambda: a.astype(np.float64),
        "shape": lambda: np.zeros((4, 7, 7, 4), np.uint8),
        "strided": lambda: np.zeros((4, 2 * bidir_core.MISSION_BYTES), np.uint8)[:, ::2],
        "readonly": lambda: _readonly(a),
        "alias": lambda: bufs["image"],
    }[value]()
    with pytest.raises(exc, match=match):
        raw.bind_buffers(bufs)
    with pytest.raises(TypeError, match="dict"):
        raw.bind_buffers([1, 2])


def test_buffer_specs_are_the_layout_bind_buffers_checks():
    # The layout itself (a change to it is a change of the public buffers).
    assert [(k, s, d) for k, s, d in _core.buffer_specs() if s] == [
        ("image", (7, 7, 3), "uint8"), ("mission", (bidir_core.MISSION_BYTES,), "uint8"),
        ("final_image", (7, 7, 3), "uint8"), ("final_mission", (bidir_core.MISSION_BYTES,), "uint8")]
    assert {k: d for k, s, d in _core.buffer_specs() if not s} == {
        "direction": "int64", "reward": "float32", "terminated": "bool", "truncated": "bool",
        "episode_done": "bool", "episode_return": "float32", "episode_length": "int32",
        "episode_success": "bool", "episode_time": "float64", "final_direction": "int64"}
    # bind_buffers requires every spec'd array with exactly its dtype and shape.
    raw = _core.VecEnv(TASK, 3, 1, False)
    for key, shape, dtype in _core.buffer_specs():
        bufs = core_buffers(3)
        assert bufs[key].shape == (3, *shape) and bufs[key].dtype == np.dtype(dtype)
        del bufs[key]
        with pytest.raises(ValueError, match=f"missing buffer '{key}'"):
            raw.bind_buffers(bufs)
        bufs[key] = np.zeros((3, *shape), np.complex64)
        with pytest.raises(TypeError, match=f"{key} must have dtype {dtype}, got complex64"):
            raw.bind_buffers(bufs)
        bufs[key] = np.zeros((3, *shape, 1), dtype)
        with pytest.raises(ValueError, match=f"{key} must have shape"):
            raw.bind_buffers(bufs)
    raw.bind_buffers(core_buffers(3))
    raw.close()


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


# -- 4. two threads on one env -------------------------------------------------------------

@pytest.mark.parametrize("num_threads", [1, 2])
@pytest.mark.slow
def test_two_threads_stepping_one_env_raise_instead_of_corrupting(num_threads):
    # Was heap corruption with num_threads=1 and a deadlock with 2.
    out = run_isolated(f"""
        import threading, numpy as np, bidir_core
        env = bidir_core.make_vec({TASK!r}, 256, seed=0, num_threads={num_threads})
        env.reset()
        errors, others, stop = [], [], threading.Event()
        def work(k):
            rng = np.random.default_rng(k)
            for _ in range(3000):
                if stop.is_set():
                    return
                try:
                    if k == 2:
                        s = env.get_state(int(rng.integers(0, 256)))
                        env.set_state(0, s)     # a torn state would be rejected here
                    else:
                        env.step(rng.integers(0, 7, 256))
                except RuntimeError as err:
                    assert "two threads at once" in str(err), err
                    errors.append(1)
                except Exception as err:
                    others.append(repr(err))
                    stop.set()
        ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        assert not others, others
        env.reset(seed=1)
        env.step(np.zeros(256, np.int64))
        for i in range(256):
            env.set_state(i, env.get_state(i))
        print("collisions", len(errors))
    """, timeout=120)
    assert int(out.split()[-1]) > 0, "the threads never overlapped: the test proves nothing"


# -- 5. thread pool start failures ---------------------------------------------------------

def _num_os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
def test_thread_start_failure_joins_started_workers_and_raises():
    before = _num_os_threads()
    _core._fail_thread_start_for_testing(5)
    try:
        with pytest.raises(RuntimeError, match="could not start 8 threads"):
            bidir_core.make_vec(TASK, 16, num_threads=8)
    finally:
        _core._fail_thread_start_for_testing(0)
    assert _num_os_threads() == before
    env = bidir_core.make_vec(TASK, 16, num_threads=8)
    env.reset(seed=0)
    env.close()
    assert _num_os_threads() == before


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics")
@pytest.mark.skipif(bool(os.environ.get("BIDIR_SANITIZED")),
                    reason="AddressSanitizer maps its shadow memory under RLIMIT_AS")
def test_thread_limit_raises_instead_of_hanging():
    # Under a memory limit 1000 worker stacks cannot be mapped: the pool used to wait
    # forever on workers it had started. (RLIMIT_NPROC does not bind root, RLIMIT_AS does.)
    run_isolated(f"""
        import resource, bidir_core
        def vm_bytes():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024
        limit = vm_bytes() + 256 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        try:
            bidir_core.make_vec({TASK!r}, 1000, num_threads=1000)
        except (RuntimeError, MemoryError) as err:
            print("raised", type(err).__name__, err)
        else:
            raise SystemExit("1000 threads started under a 256 MiB address-space margin")
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        e = bidir_core.make_vec({TASK!r}, 8, num_threads=4)
        e.reset(seed=0)
    """, timeout=60)


# -- 6. reference leaks --------------------------------------------------------------------

@pytest.mark.slow
def test_get_state_does_not_leak():
    env = bidir_core.make_vec(TASK, 2, seed=0)
    env.reset()
    for _ in range(200):
        env.get_state(0)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.take_snapshot()
        for _ in range(10000):
            env.get_state(1)
        gc.collect()
        grown = sum(
            s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename")
        )
    finally:
        tracemalloc.stop()
    # The leak was two 128-bit ints (~96 bytes) per call: ~1 MB here.
    assert grown < 200_000, f"get_state grew the Python heap by {grown} bytes over 10000 calls"


def test_background_threads_do_not_outlive_closed_envs():
    before = threading.active_count(), _num_os_threads()
    envs = [bidir_core.make_vec(TASK, 8, num_threads=4) for _ in range(5)]
    for e in envs:
        e.reset(seed=0)
        e.close()
    assert (threading.active_count(), _num_os_threads()) == before
