"""The LLM teacher: prompts, Hugging Face LMs as action scorers, PPO fine-tuning.

``load_teacher("tiny" | "smollm2-135m" | path)`` returns a ``Teacher`` whose
``action_logprobs(prompts)`` gives log πT over ``teacher.actions`` (index = minigrid
action id); ``TeacherPPO`` fine-tunes it; ``TeacherService`` serves its hints to a
rollout asynchronously, batched and cached. Nothing is downloaded at run time.

Names are imported on first use, so ``import bidir_core.teacher`` (and the CLI) stays
fast and does not load torch or Transformers until they are needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ACTION_STRINGS": "prompt",
    "DEFAULT_ACTIONS": "prompt",
    "actions_for_task": "prompt",
    "env_prompts": "prompt",
    "make_prompt": "prompt",
    "make_prompts": "prompt",
    "Teacher": "policy",
    "TEACHER_NAMES": "loading",
    "TeacherNotFoundError": "loading",
    "cache_dir": "loading",
    "load_lm": "loading",
    "load_teacher": "loading",
    "TeacherPPOConfig": "learner",
    "TeacherPPO": "learner",
    "ValueHead": "learner",
    "apply_lora": "learner",
    "oracle_agreement": "evaluate",
    "oracle_samples": "samples",
    "optimal_actions": "samples",
    "CorrectedTeacher": "corrected",
    "OracleProbe": "probe",
    "TeacherGuard": "guard",
    "Hints": "service",
    "LocalTeacherBackend": "backends",
    "ProcessTeacherBackend": "backends",
    "TeacherService": "service",
}

__all__ = [
    "ACTION_STRINGS",
    "CorrectedTeacher",
    "OracleProbe",
    "TeacherGuard",
    "DEFAULT_ACTIONS",
    "Hints",
    "LocalTeacherBackend",
    "ProcessTeacherBackend",
    "TeacherService",
    "TEACHER_NAMES",
    "TeacherPPOConfig",
    "Teacher",
    "TeacherNotFoundError",
    "TeacherPPO",
    "ValueHead",
    "actions_for_task",
    "apply_lora",
    "cache_dir",
    "env_prompts",
    "load_lm",
    "load_teacher",
    "make_prompt",
    "make_prompts",
    "optimal_actions",
    "oracle_agreement",
    "oracle_samples",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bidir_core.teacher' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bidir_core.teacher.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
