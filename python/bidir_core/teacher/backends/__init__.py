"""Teacher backends behind ``TeacherService``: a worker thread or a child process.

A backend owns the model (or a replica of it) and answers batches of queued
``(key, prompt)`` pairs: ``enqueue``, ``cancel``, ``poll``, ``in_flight``, ``close`` and
the ``alive`` / ``crashed`` flags are its whole interface.
"""

from bidir_core.teacher.backends.common import Completion, logprobs_to_probs
from bidir_core.teacher.backends.process import ProcessTeacherBackend, replica_factory
from bidir_core.teacher.backends.thread import LocalTeacherBackend

__all__ = [
    "Completion",
    "LocalTeacherBackend",
    "ProcessTeacherBackend",
    "logprobs_to_probs",
    "replica_factory",
]
