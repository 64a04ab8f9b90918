"""Teacher prompts built in C++ and their 64-bit hashes, against Python references."""

from __future__ import annotations

import numpy as np
import pytest

import bidir_core
from bidir_core import _core

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(text: str) -> int:
    """Reference FNV-1a 64 of the UTF-8 bytes of text (the textbook loop)."""
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) % 2**64
    return h


def template(mission: str, sentences: list[str]) -> str:
    return f"Goal of the agent: {mission}\nObservation: {', '.join(sentences)}\nAction:"


def test_hash_prompts_known_answers():
    # FNV-1a 64 test vectors from the FNV reference (draft-eastlake-fnv).
    got = _core.hash_prompts(["", "a", "b", "foobar"])
    assert got.dtype == np.uint64 and got.shape == (4,)
    assert got.tolist() == [
        0xCBF29CE484222325,
        0xAF63DC4C8601EC8C,
        0xAF63DF4C8601F1A5,
        0x85944171F73967E8,
    ]


def test_hash_prompts_matches_reference_on_unicode_and_long_text():
    texts = [
        "héllo wörld",
        "😀 emoji",
        "x" * 10_000,
        "Goal of the agent: \nObservation: \nAction:",
    ]
    assert _core.hash_prompts(texts).tolist() == [fnv1a64(t) for t in texts]
    assert _core.hash_prompts(tuple(texts)).tolist() == [fnv1a64(t) for t in texts]
    assert _core.hash_prompts([]).shape == (0,)


def test_hash_prompts_rejects_bad_input():
    with pytest.raises(TypeError, match="sequence of str"):
        _core.hash_prompts("a prompt")
    with pytest.raises(TypeError, match="sequence of str"):
        _core.hash_prompts(3)
    with pytest.raises(TypeError, match=r"prompts\[1\] must be a str"):
        _core.hash_prompts(["ok", b"bytes"])
    with pytest.raises(UnicodeEncodeError):
        _core.hash_prompts(["lone surrogate \ud800"])


@pytest.mark.parametrize(
    "task", ["BabyAI-GoToRedBallNoDists-v0", "BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-8x8-v0"]
)
def test_prompts_equal_python_template_along_trajectory(task):
    n = 12
    env = bidir_core.make_vec(task, n, seed=5)
    env.reset()
    rng = np.random.default_rng(0)
    hashes = np.zeros(n, np.uint64)
    distinct = set()
    for _ in range(120):
        expected = [template(m, d) for m, d in zip(env.missions(), env.descriptions())]
        assert env.prompts() == expected
        out = env.prompt_hashes(out=hashes)
        assert out is hashes
        assert hashes.tolist() == [fnv1a64(p) for p in expected]
        assert env.prompt_hashes().tolist() == hashes.tolist()
        distinct.update(expected)
        idx = rng.choice(n, size=5, replace=False)
        assert env.prompts(idx) == [expected[i] for i in idx]
        assert env.prompts(idx.tolist()) == [expected[i] for i in idx]
        actions = np.where(rng.random(n) < 0.5, env.expert_actions(), rng.integers(0, 7, n))
        env.step(actions)
    assert len(distinct) > 50  # the trajectory really visited many states


def test_prompt_hashes_with_threads_equal_single_thread():
    a = bidir_core.make_vec("BabyAI-GoToLocal-v0", 33, seed=9, num_threads=2)
    b = bidir_core.make_vec("BabyAI-GoToLocal-v0", 33, seed=9, num_threads=1)
    a.reset()
    b.reset()
    rng = np.random.default_rng(1)
    for _ in range(30):
        assert a.prompt_hashes().tolist() == b.prompt_hashes().tolist()
        actions = rng.integers(0, 7, 33)
        a.step(actions)
        b.step(actions)


def test_prompts_and_hashes_reject_bad_arguments():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 4, seed=0)
    env.reset()
    assert env.prompts([]) == []
    with pytest.raises(IndexError, match="out of range"):
        env.prompts([0, 4])
    with pytest.raises(IndexError, match="out of range"):
        env.prompts(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        env.prompts([0.5])
    with pytest.raises(ValueError, match="one-dimensional"):
        env.prompts([[0, 1]])
    with pytest.raises(TypeError, match="uint64"):
        env.prompt_hashes(out=np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="shape"):
        env.prompt_hashes(out=np.zeros(5, np.uint64))
    with pytest.raises(ValueError, match="writeable"):
        ro = np.zeros(4, np.uint64)
        ro.flags.writeable = False
        env.prompt_hashes(out=ro)
    with pytest.raises(ValueError, match="C-contiguous"):
        env.prompt_hashes(out=np.zeros(8, np.uint64)[::2])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        env.prompt_hashes(out=[0, 0, 0, 0])
    # The raw binding checks too.
    with pytest.raises(TypeError, match="int64"):
        env._core.prompts(np.array([0], np.int32))
    with pytest.raises(IndexError, match="out of range"):
        env._core.prompts(np.array([7], np.int64))
