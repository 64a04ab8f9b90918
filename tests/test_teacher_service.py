"""The asynchronous teacher service against a fake teacher whose answers we know."""

from __future__ import annotations

import logging
import threading
import time
import zlib

import numpy as np
import pytest

import bidir_core
from bidir_core._core import hash_prompts
from bidir_core.teacher.service import TeacherService

ACTIONS6 = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")
LOGGER = "bidir_core.teacher.service"
WAIT_S = 20.0  # generous bound for "eventually": the tests never measure time


def reference_logp(prompt: str, version: int, n: int) -> np.ndarray:
    """The fake teacher's log πT: a fixed random distribution per (prompt, version)."""
    x = np.random.default_rng(zlib.crc32(f"{version}|{prompt}".encode())).normal(size=n)
    return x - np.log(np.exp(x).sum())


class FakeTeacher:
    """Teacher interface with controllable failures; records every batch it is asked."""

    def __init__(self, actions=ACTIONS6):
        self.actions = tuple(actions)
        self.version = 0
        self.calls: list[list[str]] = []
        self.fail = False
        self.output = None  # a callable prompts -> array overriding the normal answer
        self.gate: threading.Event | None = None  # when set, calls block until it is set
        self.entered = threading.Event()

    def action_logprobs(self, prompts):
        self.calls.append(list(prompts))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait()
        if self.fail:
            raise RuntimeError("teacher exploded")
        if self.output is not None:
            return self.output(prompts)
        rows = [reference_logp(p, self.version, len(self.actions)) for p in prompts]
        return np.array(rows, np.float32).reshape(len(prompts), len(self.actions))

    @property
    def prompts_seen(self) -> list[str]:
        return [p for batch in self.calls for p in batch]


def expected_probs(prompt: str, version: int = 0, num_actions: int = 7) -> np.ndarray:
    p = np.zeros(num_actions)
    p[:6] = np.exp(reference_logp(prompt, version, 6).astype(np.float32))
    return p / p.sum()


def wait_for(service: TeacherService, predicate, what: str):
    """Poll service.hints() until predicate(hints) holds."""
    deadline = time.monotonic() + WAIT_S
    while True:
        h = service.hints()
        if predicate(h):
            return h
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; metrics {service.metrics()}")
        time.sleep(0.001)


def texts(*names: str) -> list[str]:
    return [f"Goal of the agent: go to the {n}\nObservation: \nAction:" for n in names]


def submit(service, prompts, env_ids=None) -> int:
    return service.submit(hash_prompts(prompts), list(prompts), env_ids)


def test_hints_arrive_and_match_teacher_probabilities():
    teacher = FakeTeacher()
    prompts = texts("red ball", "blue key", "green box", "grey door")
    with TeacherService(teacher, 4) as svc:
        assert submit(svc, prompts) == 0  # nothing cached yet
        h = wait_for(svc, lambda h: h.valid.all(), "all hints")
        assert h.probs.dtype == np.float32 and h.probs.shape == (4, 7)
        for i, p in enumerate(prompts):
            np.testing.assert_allclose(h.probs[i], expected_probs(p), rtol=1e-5, atol=1e-7)
        assert (h.probs[:, 6] == 0).all()  # "done" is not scored by this teacher
        assert h.age.tolist() == [0, 0, 0, 0] and h.version.tolist() == [0, 0, 0, 0]
        svc.tick()
        svc.tick(2)
        assert svc.hints().age.tolist() == [3, 3, 3, 3]
        m = svc.metrics()
        assert m["model_queries"] == 4 and m["answered"] == 4 and m["queries"] == 4
        assert m["failed"] == 0 and m["batches"] >= 1


def test_env_prompts_reach_the_teacher_as_the_python_template():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 8, seed=3)
    env.reset()
    teacher = FakeTeacher()
    hashes = np.zeros(8, np.uint64)
    with TeacherService(teacher, 8) as svc:
        svc.submit(env.prompt_hashes(out=hashes), env.prompts)
        expected = [
            f"Goal of the agent: {m}\nObservation: {', '.join(d)}\nAction:"
            for m, d in zip(env.missions(), env.descriptions())
        ]
        h = wait_for(svc, lambda h: h.valid.all(), "env hints")
        assert sorted(teacher.prompts_seen) == sorted(set(expected))
        for i, p in enumerate(expected):
            np.testing.assert_allclose(h.probs[i], expected_probs(p), rtol=1e-5, atol=1e-7)


def test_cache_hits_resolve_at_submit_without_calling_the_model():
    teacher = FakeTeacher()
    prompts = texts("a", "b", "c")
    with TeacherService(teacher, 6) as svc:
        submit(svc, prompts, [0, 1, 2])
        wait_for(svc, lambda h: h.valid[:3].all(), "first answers")
        calls = len(teacher.calls)
        # Other envs, same prompts: answered inside submit (no waiting, no model call).
        assert submit(svc, prompts[::-1], [3, 4, 5]) == 3
        h = svc.hints()
        assert h.valid.all()
        np.testing.assert_array_equal(h.probs[3:], h.probs[2::-1])
        # Same env, same prompt again (the vectorised path).
        svc.tick()
        assert submit(svc, prompts, [0, 1, 2]) == 3
        assert svc.hints().age[:3].tolist() == [0, 0, 0]
        assert len(teacher.calls) == calls
        m = svc.metrics()
        assert m["cache_hits"] == 6 and m["model_queries"] == 3
        assert m["cache_hit_rate"] == pytest.approx(6 / 9)


def test_envs_missing_on_the_same_prompt_share_one_query():
    teacher = FakeTeacher()
    with TeacherService(teacher, 8) as svc:
        submit(svc, texts("same") * 8)
        h = wait_for(svc, lambda h: h.valid.all(), "shared answer")
        assert teacher.prompts_seen == texts("same")
        assert (h.probs == h.probs[0]).all()


def test_version_change_beyond_staleness_invalidates_hints_and_cache():
    teacher = FakeTeacher()
    p = texts("x")
    with TeacherService(teacher, 2, max_staleness=1) as svc:
        submit(svc, p, [0])
        wait_for(svc, lambda h: h.valid[0], "v0 answer")
        teacher.version = 1  # one version behind: still served
        assert svc.hints().valid[0]
        assert submit(svc, p, [1]) == 1
        assert svc.hints().version.tolist() == [0, 0]
        teacher.version = 2  # two behind: dropped, and the cache misses
        assert not svc.hints().valid.any()
        assert submit(svc, p, [0]) == 0
        h = wait_for(svc, lambda h: h.valid[0], "v2 answer")
        assert h.version[0] == 2
        np.testing.assert_allclose(h.probs[0], expected_probs(p[0], 2), rtol=1e-5, atol=1e-7)
        assert not h.valid[1]  # env 1 still holds the version-0 answer
        assert teacher.prompts_seen == p * 2


def test_zero_staleness_serves_only_the_current_version():
    teacher = FakeTeacher()
    with TeacherService(teacher, 1) as svc:
        submit(svc, texts("x"))
        wait_for(svc, lambda h: h.valid[0], "answer")
        teacher.version += 1
        assert not svc.hints().valid[0]
        assert submit(svc, texts("x")) == 0


def test_batches_respect_max_batch():
    teacher = FakeTeacher()
    teacher.gate = threading.Event()
    n = 41
    prompts = texts(*[f"object {k}" for k in range(n)])
    with TeacherService(teacher, n, max_batch=8, max_wait=0.001) as svc:
        submit(svc, prompts[:1], [0])
        assert teacher.entered.wait(WAIT_S)  # the first call is now blocked in the model
        submit(svc, prompts[1:], list(range(1, n)))  # these queue up behind it
        teacher.gate.set()
        wait_for(svc, lambda h: h.valid.all(), "all answers")
        sizes = [len(c) for c in teacher.calls]
        assert sizes[0] == 1 and max(sizes) == 8 and sum(sizes) == n
        assert sizes[1:] == [8, 8, 8, 8, 8]  # FIFO, full batches while the queue is long
        assert sorted(teacher.prompts_seen) == sorted(prompts)
        assert svc.metrics()["batch_size_max"] == 8


def test_superseded_queued_prompts_are_cancelled():
    teacher = FakeTeacher()
    teacher.gate = threading.Event()
    a, b, c = texts("a", "b", "c")
    with TeacherService(teacher, 1) as svc:
        submit(svc, [a])
        assert teacher.entered.wait(WAIT_S)
        svc.tick()
        submit(svc, [b])  # queued behind a
        svc.tick()
        submit(svc, [c])  # env 0 moved on: b is cancelled before the model sees it
        teacher.gate.set()
        h = wait_for(svc, lambda h: h.valid[0] and h.age[0] == 0, "answer for c")
        np.testing.assert_allclose(h.probs[0], expected_probs(c), rtol=1e-5, atol=1e-7)
        assert teacher.prompts_seen == [a, c]
        m = svc.metrics()
        assert m["cancelled"] == 1 and m["cache_entries"] == 2  # a's late answer is cached


def test_an_answer_in_flight_reaches_an_env_that_moved_on_as_an_aged_hint():
    teacher = FakeTeacher()
    first, second = threading.Event(), threading.Event()
    teacher.gate = first
    a, b = texts("a", "b")
    with TeacherService(teacher, 1, max_batch=1) as svc:
        submit(svc, [a])
        assert teacher.entered.wait(WAIT_S)
        teacher.gate = second  # the next call (for b) blocks until `second` is set
        svc.tick()
        submit(svc, [b])  # env 0 moved on while a is in the model
        first.set()
        h = wait_for(svc, lambda h: h.valid[0], "a's answer")
        assert h.age[0] == 1 and svc.metrics()["answered"] == 1
        np.testing.assert_allclose(h.probs[0], expected_probs(a), rtol=1e-5, atol=1e-7)
        second.set()
        h = wait_for(svc, lambda h: h.age[0] == 0, "b's answer")
        np.testing.assert_allclose(h.probs[0], expected_probs(b), rtol=1e-5, atol=1e-7)


def test_an_older_answer_never_overwrites_a_newer_hint():
    teacher = FakeTeacher()
    a, b = texts("a", "b")
    with TeacherService(teacher, 2) as svc:
        submit(svc, [b], [1])
        wait_for(svc, lambda h: h.valid[1], "b cached")
        teacher.gate = threading.Event()
        teacher.entered.clear()
        submit(svc, [a], [0])  # in the model, blocked
        assert teacher.entered.wait(WAIT_S)
        svc.tick()
        assert submit(svc, [b], [0]) == 1  # env 0 now shows b: a cache hit
        teacher.gate.set()
        wait_for(svc, lambda h: svc.metrics()["answered"] == 2, "a answered")
        h = svc.hints()
        np.testing.assert_allclose(h.probs[0], expected_probs(b), rtol=1e-5, atol=1e-7)
        assert h.age[0] == 0


def test_a_new_episode_forgets_the_hint_and_drops_late_answers_of_the_old_one():
    teacher = FakeTeacher()
    a, b = texts("a", "b")
    with TeacherService(teacher, 2, max_batch=1) as svc:
        submit(svc, [a, a])
        wait_for(svc, lambda h: h.valid.all(), "a's answers")
        teacher.gate = threading.Event()
        teacher.entered.clear()
        svc.tick()
        submit(svc, [b], [0])  # asked in env 0's old episode; blocked in the model
        assert teacher.entered.wait(WAIT_S)
        svc.tick()
        svc.forget([0])  # env 0's episode ended
        h = svc.hints()
        assert not h.valid[0] and h.valid[1]  # env 1 keeps its hint
        teacher.gate.set()
        wait_for(svc, lambda h: svc.metrics()["answered"] == 2, "b answered")
        assert not svc.hints().valid[0]  # the old episode's late answer is not a hint
        submit(svc, [b], [0])  # the new episode asks: b is cached now
        assert svc.hints().valid[0] and svc.hints().age[0] == 0


def test_lru_cache_evicts_the_least_recently_used():
    teacher = FakeTeacher()
    a, b, c = texts("a", "b", "c")
    with TeacherService(teacher, 3, cache_size=2) as svc:
        submit(svc, [a, b], [0, 1])
        wait_for(svc, lambda h: h.valid[:2].all(), "a and b")
        assert submit(svc, [a], [2]) == 1  # touch a: b is now least recent
        submit(svc, [c], [2])
        wait_for(svc, lambda h: svc.metrics()["answered"] == 3, "c")
        assert submit(svc, [a], [2]) == 1  # a is still cached (env 2 showed c)
        assert submit(svc, [b], [2]) == 0  # b was evicted
        assert svc.metrics()["cache_entries"] == 2


def test_teacher_that_raises_gives_no_hint_is_logged_and_service_recovers(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    teacher = FakeTeacher()
    a, b, c = texts("a", "b", "c")
    with TeacherService(teacher, 2) as svc:
        submit(svc, [a], [0])
        wait_for(svc, lambda h: h.valid[0], "a")
        teacher.fail = True
        svc.tick()
        submit(svc, [b, c], [0, 1])
        wait_for(svc, lambda h: svc.metrics()["teacher_errors"] >= 1, "the failure")
        h = svc.hints()
        assert not h.valid.any()  # env 0's request failed: no hint (not the stale a)
        assert (h.probs == 0).all() and h.age.tolist() == [-1, -1]
        assert any("teacher failed" in r.getMessage() for r in caplog.records)
        assert any(r.exc_info and "exploded" in str(r.exc_info[1]) for r in caplog.records)
        assert svc.metrics()["failed"] == 2
        teacher.fail = False  # the teacher works again: new requests are served
        svc.tick()
        submit(svc, [b, c], [0, 1])
        h = wait_for(svc, lambda h: h.valid.all(), "recovery")
        np.testing.assert_allclose(h.probs[1], expected_probs(c), rtol=1e-5, atol=1e-7)


def test_malformed_teacher_output_gives_no_hint_for_the_bad_rows(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    teacher = FakeTeacher()

    def output(prompts):
        rows = np.array([reference_logp(p, 0, 6) for p in prompts], np.float32)
        rows[["nan" in p for p in prompts]] = np.nan
        return rows

    teacher.output = output
    good, bad = texts("good", "nan")
    with TeacherService(teacher, 2, max_wait=0.2) as svc:
        submit(svc, [good, bad])
        wait_for(svc, lambda h: svc.metrics()["answered"] + svc.metrics()["failed"] == 2, "both")
        assert svc.hints().valid.tolist() == [True, False]
        assert any("unusable" in r.getMessage() for r in caplog.records)
        teacher.output = lambda prompts: np.zeros((len(prompts), 3), np.float32)  # wrong shape
        svc.tick()
        submit(svc, texts("other"), [0])
        wait_for(svc, lambda h: svc.metrics()["teacher_errors"] == 1, "shape error")
        assert not svc.hints().valid[0]
        assert any("expected (1, 6)" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_hanging_teacher_times_out_without_blocking_the_rollout(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    teacher = FakeTeacher()
    a, b, c = texts("a", "b", "c")
    with TeacherService(teacher, 2, timeout=0.5) as svc:
        submit(svc, [a, a])
        wait_for(svc, lambda h: h.valid.all(), "a")
        teacher.gate = threading.Event()  # from now on the teacher hangs
        teacher.entered.clear()
        svc.tick()
        submit(svc, [b], [0])
        assert teacher.entered.wait(WAIT_S)
        # The teacher is still inside its call (the gate is closed), yet the rollout goes on:
        wait_for(svc, lambda h: svc.metrics()["timeouts"] == 1, "the timeout")
        assert not teacher.gate.is_set()
        assert not svc.hints().valid[0]
        assert any("timeout" in r.getMessage() for r in caplog.records)
        calls = len(teacher.calls)
        svc.tick()
        assert svc.hints().valid[1]  # env 1 still holds its answer for a
        assert submit(svc, [c], [1]) == 0  # rejected at once: nothing queues behind the hang
        assert not svc.hints().valid[1] and len(teacher.calls) == calls
        assert svc.metrics()["rejected"] == 1
        teacher.gate.set()  # the teacher comes back
        teacher.gate = None
        wait_for(svc, lambda h: svc.metrics()["pending"] == 0 and svc._intake.hung is None, "return")
        svc.tick()
        submit(svc, [c], [1])
        h = wait_for(svc, lambda h: h.valid[1], "service recovered")
        np.testing.assert_allclose(h.probs[1], expected_probs(c), rtol=1e-5, atol=1e-7)
        assert any("serving hints again" in r.getMessage() for r in caplog.records)


def test_shutdown_joins_the_worker_and_resolves_to_no_hint():
    teacher = FakeTeacher()
    svc = TeacherService(teacher, 2)
    worker = svc._backend._thread
    submit(svc, texts("a"), [0])
    wait_for(svc, lambda h: h.valid[0], "a")
    with svc:
        pass  # __exit__ closes
    assert svc.closed and not worker.is_alive()
    h = svc.hints()
    assert not h.valid.any() and (h.probs == 0).all()
    assert submit(svc, texts("a", "b")) == 0  # even a cached prompt: no hint after close
    assert not svc.hints().valid.any()
    svc.close()  # idempotent


def test_shutdown_with_a_hung_teacher_returns(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    teacher = FakeTeacher()
    teacher.gate = threading.Event()
    svc = TeacherService(teacher, 1, join_timeout=0.01)
    submit(svc, texts("a"))
    assert teacher.entered.wait(WAIT_S)
    svc.close()  # cannot join a thread stuck in the model: logs and leaves it (daemon)
    assert any("still inside the teacher" in r.getMessage() for r in caplog.records)
    assert not svc.hints().valid.any()
    teacher.gate.set()
    svc._backend._thread.join(WAIT_S)
    assert not svc._backend._thread.is_alive()


def test_versioned_teacher_tags_answers_with_its_version():
    class Versioned(FakeTeacher):
        def action_logprobs_versioned(self, prompts):
            return self.action_logprobs(prompts), 5

    teacher = Versioned()
    teacher.version = 5
    with TeacherService(teacher, 1) as svc:
        submit(svc, texts("a"))
        h = wait_for(svc, lambda h: h.valid[0], "a")
        assert h.version[0] == 5


def test_max_age_expires_hints():
    teacher = FakeTeacher()
    with TeacherService(teacher, 1, max_age=2) as svc:
        submit(svc, texts("a"))
        wait_for(svc, lambda h: h.valid[0], "a")
        svc.tick(2)
        assert svc.hints().valid[0]
        svc.tick()
        assert not svc.hints().valid[0]


def test_bad_arguments_raise_clear_exceptions():
    teacher = FakeTeacher()
    with pytest.raises(TypeError, match="action_logprobs"):
        TeacherService(object(), 2)
    with pytest.raises(ValueError, match="only 5"):
        TeacherService(teacher, 2, num_actions=5)
    for kwargs, exc, msg in [
        ({"max_batch": 0}, ValueError, "max_batch"),
        ({"max_batch": 2.0}, TypeError, "max_batch"),
        ({"max_wait": -1.0}, ValueError, "max_wait"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"cache_size": 0}, ValueError, "cache_size"),
        ({"max_staleness": -1}, ValueError, "max_staleness"),
        ({"max_age": True}, TypeError, "max_age"),
    ]:
        with pytest.raises(exc, match=msg):
            TeacherService(teacher, 2, **kwargs)
    with pytest.raises(ValueError, match="num_envs"):
        TeacherService(teacher, 0)

    p = texts("a", "b")
    with TeacherService(teacher, 2) as svc:
        h = hash_prompts(p)
        with pytest.raises(TypeError, match="uint64"):
            svc.submit(h.astype(np.int64), p)
        with pytest.raises(TypeError, match="numpy.ndarray"):
            svc.submit(h.tolist(), p)
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            svc.submit(h[:1], p)
        with pytest.raises(ValueError, match="prompts has 1"):
            svc.submit(h, p[:1])
        with pytest.raises(TypeError, match="sequence of str or a callable"):
            svc.submit(h, "a prompt")
        with pytest.raises(IndexError, match="out of range"):
            svc.submit(h, p, [0, 2])
        with pytest.raises(ValueError, match="repeat"):
            svc.submit(h, p, [1, 1])
        with pytest.raises(TypeError, match="integers"):
            svc.submit(h, p, [0.0, 1.0])
        with pytest.raises(ValueError, match="prompt of env 1 does not match its hash"):
            svc.submit(np.array([h[0], h[0]]), p)
        assert svc.metrics()["pending"] == 0  # nothing was left half-queued
        with pytest.raises(ValueError, match="must return 2 strings"):
            svc.submit(h, lambda ids: p[:1])
        with pytest.raises(ValueError, match="steps"):
            svc.tick(-1)
        errors = []
        t = threading.Thread(target=lambda: errors.append(_raises(svc.hints)))
        t.start()
        t.join()
        assert isinstance(errors[0], RuntimeError) and "one thread" in str(errors[0])


def _raises(fn):
    try:
        fn()
    except Exception as e:
        return e
    return None


def test_the_training_loops_hashes_are_not_hashed_again(monkeypatch):
    """verify=False (the env's own hashes and prompts) skips the second hash of a query."""
    import bidir_core.teacher.service as service_module

    p = texts("a", "b")
    h = hash_prompts(p)

    class NoHashing:
        def __getattr__(self, name):
            if name == "hash_prompts":
                raise AssertionError("prompts hashed a second time")
            return getattr(bidir_core._core, name)

    with TeacherService(FakeTeacher(), 2) as svc:
        monkeypatch.setattr(service_module, "_core", NoHashing())
        svc.submit(h, p, verify=False)
        with pytest.raises(AssertionError, match="second time"):
            q = texts("c", "d")
            svc.submit(hash_prompts(q), q, verify=True)
