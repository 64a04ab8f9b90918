"""The Ray teacher backend: K replicas of the LM answer prompts as Ray actors.

Each replica is an actor built on some node of the cluster from a picklable ``factory``
(the recipe of ``replica_factory``), with the Ray resources asked for (``{"GPU": 1}``:
each replica on a GPU of its own). A prompt goes to replica ``hash % K``, so one
prompt is always scored by the same replica (the ones still running, after a replica is
lost for good). Whenever the parent's ``teacher.version`` moves on, the trainable weights
are put once into Ray's object store and every replica loads them before its next batch;
answers carry the version they were made with, which the service holds to its staleness
bound. Only prompt strings, weights and (B, A) log-probs cross the wire.

Ray restarts a replica that dies (up to ``max_restarts`` times) and retries the calls it
was given; the new replica answers them without weights (version -1), so the backend sends
it the latest weights and the batch again, with the same batch id. A replica lost for good
hands its prompts to the others. In the
parent, one feeder thread forms batches (one in each replica at a time) and one collector
thread waits on the answers. ``close`` kills the actors, and shuts Ray down if it started it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from bidir_core._checks import check_int
from bidir_core.ray_cluster import connect, import_ray, ray_resources
from bidir_core.teacher.backends.common import (
    Completion,
    QueueClient,
    _check_seconds,
    logprobs_to_probs,
)
from bidir_core.teacher.backends.queued import check_backend_args
from bidir_core.teacher.backends.ray_replica import ReplicaSlot, TeacherReplica, WeightPublisher

__all__ = ["RayTeacherBackend", "TeacherReplica"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")


class _Batch:
    __slots__ = ("batch_id", "keys", "prompts", "start", "wait", "slot", "sends")

    def __init__(self, batch_id, keys, prompts, start, wait, slot) -> None:
        self.batch_id, self.keys, self.prompts = batch_id, keys, prompts
        self.start, self.wait, self.slot, self.sends = start, wait, slot, 0


class RayTeacherBackend(QueueClient):
    """Answers queued (key, prompt) pairs with ``replicas`` Ray actors holding the teacher.

    ``factory`` builds a replica (picklable, importable on every node); it must build the
    same architecture as ``teacher``, whose trainable weights are then copied over.
    ``resources`` are the Ray resources of each replica (``{"CPU": 1}`` when empty).
    ``address`` is the cluster to join (None: ``RAY_ADDRESS``, a local ``ray start``,
    or a new local cluster).
    """

    def __init__(
        self,
        teacher: Any,
        factory: Callable[[], Any],
        *,
        num_actions: int,
        replicas: int = 1,
        resources: dict[str, float] | None = None,
        address: str | None = None,
        max_batch: int = 32,
        max_wait: float = 0.002,
        max_restarts: int = 3,
        start_timeout: float = 600.0,
        postprocess: Callable[[list[str], np.ndarray], np.ndarray] | None = None,
        name: str = "teacher",
    ) -> None:
        self.num_teacher_actions: int
        self.num_actions: int
        self.max_batch: int
        self.max_wait: float
        (self.num_teacher_actions, self.num_actions, self.max_batch,
         self.max_wait) = check_backend_args(teacher, num_actions, max_batch, max_wait)
        if not callable(factory):
            raise TypeError("factory must be a callable that builds the teacher replica")
        self.replicas: int = check_int("replicas", replicas, 1)
        self.max_restarts: int = check_int("max_restarts", max_restarts, 0)
        self.start_timeout: float = _check_seconds("start_timeout", start_timeout, allow_none=False)
        if resources is not None and not isinstance(resources, dict):
            raise TypeError(f"resources must be a dict, got {type(resources).__name__}")
        options = ray_resources(resources or {})
        self._ray = ray = import_ray()
        self._teacher = teacher
        self._postprocess = postprocess
        self._cond = threading.Condition(threading.Lock())
        self._done: collections.deque[Completion] = collections.deque()
        self._flights: dict[Any, _Batch] = {}  # ObjectRef -> batch
        self._stopping = False
        self._next_id = 0
        self._weights = WeightPublisher(ray, teacher)
        self.restarts: int = 0
        self.crashed: bool = False
        self._owns_ray = connect(address)
        try:
            actor_cls = ray.remote(TeacherReplica).options(
                max_restarts=self.max_restarts, max_task_retries=-1, **options
            )
            threads = max(1, int(options["num_cpus"]))
            self._slots = [ReplicaSlot(i, actor_cls.remote(factory, threads))
                           for i in range(replicas)]
            self._pids = self._wait_ready()
        except BaseException:
            self._shutdown()
            raise
        self._feeder = threading.Thread(target=self._run, args=(self._feed,),
                                        name=f"{name}-ray-feeder", daemon=True)
        self._collector = threading.Thread(target=self._run, args=(self._collect,),
                                           name=f"{name}-ray-collector", daemon=True)
        self._feeder.start()
        self._collector.start()

    # -- client side -----------------------------------------------------------------------
    def _queue_for(self, key: int) -> collections.OrderedDict[int, tuple[str, float]]:
        return self._route(key).queue  # the replica the key maps to

    def cancel(self, keys: Sequence[int] | None = None) -> list[int]:
        """Drop queued (not yet sent) keys, all if None; return those dropped."""
        with self._cond:
            if keys is None:
                dropped = [k for s in self._slots for k in s.queue]
                for s in self._slots:
                    s.queue.clear()
                return dropped
            return [k for k in keys
                    if any(s.queue.pop(k, None) is not None for s in self._slots)]  # fmt: skip

    def in_flight(self) -> tuple[int, tuple[int, ...], float] | None:
        """(batch id, keys, start time.monotonic()) of the oldest batch in a replica, if any."""
        with self._cond:
            if not self._flights:
                return None
            b = min(self._flights.values(), key=lambda b: b.start)
            return b.batch_id, b.keys, b.start

    @property
    def alive(self) -> bool:
        """Whether batches are being answered (or a replica is being restarted)."""
        return self._feeder.is_alive() and self._collector.is_alive() and not self.crashed

    @property
    def actors(self) -> list[Any]:
        """The replicas' Ray actor handles, in routing order."""
        return [s.actor for s in self._slots]

    @property
    def pids(self) -> list[int]:
        """The replicas' process ids (as of their last answer)."""
        return list(self._pids)

    def close(self, join_timeout: float | None = 10.0) -> bool:
        """Stop both threads, kill the replicas (and Ray, if this backend started it);
        return True if the threads ended."""
        with self._cond:
            self._stopping = True
            for s in self._slots:
                s.queue.clear()
            self._cond.notify_all()
        self._feeder.join(join_timeout)
        self._collector.join(join_timeout)
        self._shutdown()
        return not (self._feeder.is_alive() or self._collector.is_alive())

    # -- internals -------------------------------------------------------------------------
    def _wait_ready(self) -> list[int]:
        ray = self._ray
        refs = [s.actor.ready.remote() for s in self._slots]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=self.start_timeout)
        if len(ready) < len(refs):
            raise RuntimeError(
                f"the teacher replicas did not start within {self.start_timeout:g} s "
                "(does the cluster have the resources asked for?)"
            )
        try:
            answers = ray.get(refs)
        except ray.exceptions.RayActorError as err:
            raise RuntimeError(f"a teacher replica could not build the teacher: {err}") from None
        for actions, _ in answers:
            if actions != self.num_teacher_actions:
                raise ValueError(
                    f"the replica scores {actions} actions, the teacher {self.num_teacher_actions}"
                )
        return [pid for _, pid in answers]

    def _shutdown(self) -> None:
        ray = self._ray
        if ray.is_initialized():
            for s in getattr(self, "_slots", []):
                try:
                    ray.kill(s.actor, no_restart=True)
                except Exception:  # already gone
                    pass
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def _route(self, key: int) -> ReplicaSlot:
        """The replica of a key: hash % K, over the replicas still running."""
        slot = self._slots[key % len(self._slots)]
        if not slot.lost:
            return slot
        running = [s for s in self._slots if not s.lost] or self._slots
        return running[key % len(running)]

    def _run(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException:  # a bug here must not pass silently: the client sees it
            self.crashed = True
            logger.exception("teacher Ray backend crashed")

    def _send(self, batch: _Batch) -> None:
        """Publish new weights to the batch's replica if it lags, then have it score."""
        slot = batch.slot
        self._weights.send(slot)
        batch.sends += 1
        ref = slot.actor.score.remote(batch.prompts)
        with self._cond:
            self._flights[ref] = batch
            self._cond.notify_all()

    def _feed(self) -> None:
        while True:
            with self._cond:
                batches = self._next_batches()
            if batches is None:
                return
            for b in batches:
                self._send(b)
            # every replica gets a new version as soon as it is out, not only at its next batch
            self._weights.publish(self._slots)

    def _next_batches(self) -> list[_Batch] | None:
        """Wait until some idle replica's queue is full or old enough; take its batch."""
        while True:
            if self._stopping:
                return None
            now = time.monotonic()
            timeout = None
            out = []
            for s in self._slots:
                if s.busy or s.lost or not s.queue:
                    continue
                left = next(iter(s.queue.values()))[1] + self.max_wait - now
                if len(s.queue) >= self.max_batch or left <= 0:
                    out.append(self._take(s, now))
                else:
                    timeout = left if timeout is None else min(timeout, left)
            if out:
                return out
            # wake now and then so that a new teacher version is published while idle
            self._cond.wait(0.25 if timeout is None else min(timeout, 0.25))
            if not any(s.queue for s in self._slots):
                self._publish_unlocked()

    def _publish_unlocked(self) -> None:
        self._cond.release()
        try:
            self._weights.publish(self._slots)
        finally:
            self._cond.acquire()

    def _take(self, slot: ReplicaSlot, now: float) -> _Batch:
        take = min(self.max_batch, len(slot.queue))
        items = [slot.queue.popitem(last=False) for _ in range(take)]
        slot.busy = True
        batch_id = self._next_id
        self._next_id += 1
        wait = sum(now - t for _, (_, t) in items) / take
        return _Batch(batch_id, tuple(k for k, _ in items), [p for _, (p, _) in items], now,
                      wait, slot)

    def _collect(self) -> None:
        ray = self._ray
        while True:
            with self._cond:
                while not self._flights:
                    if self._stopping:
                        return
                    self._cond.wait(0.25)
                if self._stopping:
                    return
                refs = list(self._flights)
            ready, _ = ray.wait(refs, num_returns=1, timeout=0.02)  # then new refs join
            for ref in ready:
                with self._cond:
                    batch = self._flights.pop(ref)
                self._finish(batch, ref)

    def _finish(self, batch: _Batch, ref: Any) -> None:
        ray = self._ray
        try:
            logp, version, latency, error, pid = ray.get(ref)
        except ray.exceptions.ActorDiedError:  # Ray gave up restarting it
            self._resend(batch, lost=True, why="it died for good")
            return
        except ray.exceptions.RayActorError as exc:  # unreachable for now
            time.sleep(0.1)
            self._resend(batch, lost=False, why=type(exc).__name__)
            return
        except Exception as exc:  # the call itself failed: no hint for this batch
            self._complete(batch, None, -1, f"{type(exc).__name__}: {exc}")
            return
        slot = batch.slot
        if pid != self._pids[slot.index]:  # Ray restarted it (and retried its calls there)
            with self._cond:
                self._pids[slot.index] = pid
                self.restarts += 1
            logger.warning("teacher replica %d was restarted by Ray (restart %d)", slot.index,
                           self.restarts)
        if version < 0:  # ... before it had weights: send them, and the batch again
            self._resend(batch, lost=False, why="restarted without weights")
            return
        self._complete(batch, logp, version, error)

    def _resend(self, batch: _Batch, lost: bool, why: str) -> None:
        """The batch's replica was lost, or restarted from the factory's weights: send the
        batch again (same id) with the latest weights, to another replica if it is lost."""
        slot = batch.slot
        with self._cond:
            if slot.version is not None and not slot.lost:
                slot.version = None
                logger.warning("teacher replica %d %s; its batch of %d prompts is sent again",
                               slot.index, why, len(batch.keys))
            if lost and not slot.lost:
                slot.lost = True
                logger.error("teacher replica %d is lost for good; its prompts go to the others",
                             slot.index)
                moved, slot.queue = slot.queue, collections.OrderedDict()
                if all(s.lost for s in self._slots):
                    self.crashed = True
                else:
                    for key, item in moved.items():
                        self._route(key).queue[key] = item
            slot.busy = False
            give_up = self._stopping or self.crashed or batch.sends > self.max_restarts + 1
            target = self._route(batch.keys[0]) if slot.lost else slot
            if not give_up:
                target.busy = True  # (a second batch may then wait in a running replica)
            self._cond.notify_all()
        if give_up:
            self._complete(batch, None, -1, f"the teacher replica was lost ({why})", free=False)
            return
        batch.slot = target
        self._send(batch)

    def _complete(self, batch: _Batch, logp: Any, version: int, error: str | None,
                  free: bool = True) -> None:
        probs = ok = None
        if logp is not None:
            try:
                if self._postprocess is not None:
                    logp = self._postprocess(batch.prompts, logp)
                probs, ok = logprobs_to_probs(logp, len(batch.prompts), self.num_teacher_actions,
                                              self.num_actions)
                if not ok.all():
                    error = f"{int((~ok).sum())} of {len(ok)} rows were NaN or infinite"
            except Exception as exc:
                probs = ok = None
                error = f"{type(exc).__name__}: {exc}"
        if probs is None:
            version = -1
        self._done.append(Completion(batch.batch_id, batch.keys, probs, ok, int(version),
                                     time.monotonic() - batch.start, batch.wait, error))
        if free:
            with self._cond:
                batch.slot.busy = False
                self._cond.notify_all()
