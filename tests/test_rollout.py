"""GAE and minibatch permutations in C++ against independent references, and RolloutBuffer."""

from __future__ import annotations

import re

import numpy as np
import pytest
from bidir_core import _core
from bidir_core.rollout import RolloutBuffer

_MASK64 = (1 << 64) - 1


def reference_gae(rewards, values, terminated, truncated, final_values, next_values, gamma, lam):
    """Plain float64 loop: GAE with time-limit truncation bootstrapped from final_values."""
    T, N = rewards.shape
    adv = np.zeros((T, N), dtype=np.float64)
    for n in range(N):
        last = 0.0
        for t in reversed(range(T)):
            if terminated[t, n]:
                boot = 0.0
            elif truncated[t, n]:
                boot = float(final_values[t, n])
            elif t == T - 1:
                boot = float(next_values[n])
            else:
                boot = float(values[t + 1, n])
            if terminated[t, n] or truncated[t, n]:
                last = 0.0
            delta = float(rewards[t, n]) + gamma * boot - float(values[t, n])
            last = delta + gamma * lam * last
            adv[t, n] = last
    return adv, adv + values.astype(np.float64)


def random_rollout(T: int, N: int, seed: int, p_end: float = 0.08) -> dict[str, np.ndarray]:
    """Random inputs with terminations, truncations and both at once mid-rollout."""
    rng = np.random.default_rng(seed)
    terminated = rng.random((T, N)) < p_end
    truncated = rng.random((T, N)) < p_end
    final_values = rng.normal(size=(T, N)).astype(np.float32)
    final_values[~(truncated & ~terminated)] = np.nan  # never read there
    return {
        "rewards": rng.normal(size=(T, N)).astype(np.float32),
        "values": rng.normal(size=(T, N)).astype(np.float32),
        "terminated": terminated,
        "truncated": truncated,
        "final_values": final_values,
        "next_values": rng.normal(size=N).astype(np.float32),
    }


def run_gae(data: dict[str, np.ndarray], gamma: float, lam: float):
    adv = np.full(data["rewards"].shape, np.nan, dtype=np.float32)
    ret = np.full(data["rewards"].shape, np.nan, dtype=np.float32)
    _core.compute_gae(**data, gamma=gamma, lam=lam, advantages=adv, returns=ret)
    return adv, ret


def assert_close_to_reference(adv, ret, data, gamma, lam):
    ref_adv, ref_ret = reference_gae(**data, gamma=gamma, lam=lam)
    scale = 1.0 + np.abs(ref_adv)  # relative, with an absolute floor for values near 0
    assert np.all(np.abs(adv - ref_adv) <= 1e-5 * scale)
    assert np.all(np.abs(ret - ref_ret) <= 1e-5 * (1.0 + np.abs(ref_ret)))


@pytest.mark.parametrize("T,N", [(1, 1), (2, 3), (7, 1), (32, 5), (128, 17), (256, 4)])
@pytest.mark.parametrize(
    "gamma,lam", [(0.99, 0.95), (0.9, 1.0), (1.0, 1.0), (0.5, 0.0), (0.0, 0.7)]
)
def test_gae_matches_float64_reference(T, N, gamma, lam):
    data = random_rollout(T, N, seed=T * 1000 + N)
    adv, ret = run_gae(data, gamma, lam)
    assert np.all(np.isfinite(adv)) and np.all(np.isfinite(ret))
    assert_close_to_reference(adv, ret, data, gamma, lam)


def test_gae_relative_error_on_long_undiscounted_rollout():
    data = random_rollout(1024, 8, seed=5, p_end=0.002)
    adv, _ = run_gae(data, 1.0, 1.0)
    ref_adv, _ = reference_gae(**data, gamma=1.0, lam=1.0)
    big = np.abs(ref_adv) > 1.0
    assert big.any()
    assert np.max(np.abs(adv[big] - ref_adv[big]) / np.abs(ref_adv[big])) < 1e-5


def test_gae_episode_ends_cut_the_recursion():
    # Changing anything after an episode end must not change the advantages before it.
    data = random_rollout(10, 3, seed=1, p_end=0.0)
    data["terminated"][4, 0] = True
    data["truncated"][4, 1] = True
    data["final_values"][4, 1] = 2.5
    adv_a, _ = run_gae(data, 0.99, 0.95)
    data["rewards"][5:, :2] += 10.0
    data["values"][5:, :2] -= 3.0
    data["next_values"][:2] += 7.0
    adv_b, _ = run_gae(data, 0.99, 0.95)
    np.testing.assert_array_equal(adv_a[:5, :2], adv_b[:5, :2])
    np.testing.assert_array_equal(adv_a[:, 2], adv_b[:, 2])


def test_gae_threaded_size_matches_reference_columns():
    # Large enough for the multi-threaded path; check a few columns against the reference.
    T, N = 64, (1 << 22) // 64 + 3
    data = random_rollout(T, N, seed=9)
    adv, ret = run_gae(data, 0.99, 0.95)
    cols = [0, 1, 15, 16, N // 2, N - 1]
    sub = {k: (v[:, cols] if v.ndim == 2 else v[cols]) for k, v in data.items()}
    sub = {k: np.ascontiguousarray(v) for k, v in sub.items()}
    assert_close_to_reference(adv[:, cols], ret[:, cols], sub, 0.99, 0.95)


def test_gae_writes_in_place_into_views():
    data = random_rollout(6, 4, seed=2)
    parent = np.zeros((2, 10, 4), dtype=np.float32)
    adv, ret = parent[0, 2:8], parent[1, 3:9]  # C-contiguous views into one buffer
    assert adv.flags.c_contiguous and ret.flags.c_contiguous
    _core.compute_gae(**data, gamma=0.9, lam=0.8, advantages=adv, returns=ret)
    assert np.shares_memory(adv, parent) and np.shares_memory(ret, parent)
    ref_adv, ref_ret = reference_gae(**data, gamma=0.9, lam=0.8)
    np.testing.assert_allclose(parent[0, 2:8], ref_adv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(parent[1, 3:9], ref_ret, rtol=1e-5, atol=1e-6)
    assert np.all(parent[0, :2] == 0) and np.all(parent[0, 8:] == 0)
    assert np.all(parent[1, :3] == 0) and np.all(parent[1, 9:] == 0)


def test_gae_releases_the_gil_and_is_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    data = random_rollout(256, 64, seed=3)
    expected, _ = run_gae(data, 0.99, 0.95)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run_gae(data, 0.99, 0.95)[0], range(8)))
    for adv in results:
        np.testing.assert_array_equal(adv, expected)


# --- bad input -------------------------------------------------------------------------

ARG_NAMES = [
    "rewards",
    "values",
    "terminated",
    "truncated",
    "final_values",
    "next_values",
    "advantages",
    "returns",
]


def good_args(T: int = 4, N: int = 3) -> dict:
    args = dict(random_rollout(T, N, seed=0))
    args.update(
        gamma=0.99,
        lam=0.95,
        advantages=np.zeros((T, N), np.float32),
        returns=np.zeros((T, N), np.float32),
    )
    return args


def named(name: str) -> str:
    return "^" + re.escape(name) + " "


def test_good_args_work():
    _core.compute_gae(**good_args())


@pytest.mark.parametrize("name", ARG_NAMES)
def test_wrong_dtype_names_the_argument(name):
    args = good_args()
    wrong = np.float64 if args[name].dtype != np.float64 else np.float32
    args[name] = args[name].astype(wrong)
    with pytest.raises(TypeError, match=named(name) + "must have dtype"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ARG_NAMES)
def test_wrong_shape_names_the_argument(name):
    args = good_args()
    if name == "rewards":
        args[name] = args[name][:, :2].copy()  # everything else then mismatches rewards
        name = "values"
    else:
        args[name] = np.concatenate([args[name], args[name][:1]])
    with pytest.raises(ValueError, match=named(name) + "must have shape"):
        _core.compute_gae(**args)


def test_rewards_must_be_two_dimensional():
    args = good_args()
    args["rewards"] = args["rewards"].reshape(-1)
    with pytest.raises(ValueError, match=named("rewards") + r"must have shape \(T, N\)"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ARG_NAMES)
def test_non_contiguous_names_the_argument(name):
    args = good_args()
    a = args[name]
    doubled = np.repeat(a, 2, axis=-1)
    args[name] = doubled[..., ::2]
    assert args[name].shape == a.shape and not args[name].flags.c_contiguous
    with pytest.raises(ValueError, match=named(name) + "must be C-contiguous"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ["advantages", "returns"])
def test_read_only_output_names_the_argument(name):
    args = good_args()
    args[name].flags.writeable = False
    with pytest.raises(ValueError, match=named(name) + "must be writeable"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ARG_NAMES)
def test_non_array_names_the_argument(name):
    args = good_args()
    args[name] = args[name].tolist()
    with pytest.raises(TypeError, match=named(name) + "must be a numpy.ndarray"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ["gamma", "lam"])
@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf")])
def test_discount_out_of_range_names_the_argument(name, bad):
    args = good_args()
    args[name] = bad
    with pytest.raises(ValueError, match=named(name) + r"must be in \[0, 1\]"):
        _core.compute_gae(**args)


@pytest.mark.parametrize("name", ["gamma", "lam"])
@pytest.mark.parametrize("bad", ["0.9", None, True])
def test_discount_wrong_type_names_the_argument(name, bad):
    args = good_args()
    args[name] = bad
    with pytest.raises(TypeError, match=named(name) + "must be a float"):
        _core.compute_gae(**args)


def test_discount_accepts_numpy_and_int_scalars():
    args = good_args()
    args.update(gamma=np.float32(0.5), lam=1)
    _core.compute_gae(**args)


@pytest.mark.parametrize("out", ["advantages", "returns"])
@pytest.mark.parametrize("other", ["rewards", "values", "final_values", "advantages", "returns"])
def test_outputs_must_not_alias(out, other):
    args = good_args()
    if out == other:
        return
    args[out] = args[other]
    with pytest.raises(ValueError, match="must not share memory"):
        _core.compute_gae(**args)


# --- permutations ----------------------------------------------------------------------


def reference_shuffled_indices(n: int, seed: int) -> list[int]:
    """splitmix64 + Fisher-Yates exactly as documented in cpp/rollout/gae.h, in Python."""
    state = seed

    def next_u64() -> int:
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(bound: int) -> int:
        threshold = (2**64 - bound) % bound
        while True:
            r = next_u64()
            if r >= threshold:
                return r % bound

    out = list(range(n))
    for i in range(n - 1, 0, -1):
        j = below(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 5, 64, 1000])
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**64 - 1])
def test_shuffled_indices_matches_python_reference(n, seed):
    perm = _core.shuffled_indices(n, seed)
    assert perm.dtype == np.int64 and perm.shape == (n,)
    assert perm.tolist() == reference_shuffled_indices(n, seed)


def test_shuffled_indices_is_a_reproducible_permutation():
    a = _core.shuffled_indices(4096, 7)
    np.testing.assert_array_equal(np.sort(a), np.arange(4096))
    np.testing.assert_array_equal(a, _core.shuffled_indices(4096, np.uint64(7)))
    assert not np.array_equal(a, _core.shuffled_indices(4096, 8))
    assert not np.array_equal(a, np.arange(4096))


@pytest.mark.parametrize(
    "kwargs,exc,pattern",
    [
        ({"n": -1, "seed": 0}, ValueError, r"^n must be in"),
        ({"n": 1.5, "seed": 0}, TypeError, r"^n must be an int"),
        ({"n": True, "seed": 0}, TypeError, r"^n must be an int"),
        ({"n": 3, "seed": -1}, ValueError, r"^seed must be in \[0, 2\*\*64\)"),
        ({"n": 3, "seed": 2**64}, ValueError, r"^seed must be in \[0, 2\*\*64\)"),
        ({"n": 3, "seed": "1"}, TypeError, r"^seed must be an int"),
    ],
)
def test_shuffled_indices_bad_input(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _core.shuffled_indices(**kwargs)


# --- RolloutBuffer ---------------------------------------------------------------------


def test_buffer_shapes_and_dtypes():
    buf = RolloutBuffer(num_steps=8, num_envs=3, num_actions=7)
    expected = {
        "image": ((8, 3, 7, 7, 3), np.uint8),
        "direction": ((8, 3), np.int64),
        "actions": ((8, 3), np.int64),
        "logprobs": ((8, 3), np.float32),
        "student_logprobs": ((8, 3), np.float32),
        "values": ((8, 3), np.float32),
        "rewards": ((8, 3), np.float32),
        "terminated": ((8, 3), np.bool_),
        "truncated": ((8, 3), np.bool_),
        "final_values": ((8, 3), np.float32),
        "hints": ((8, 3, 7), np.float32),
        "hint_valid": ((8, 3), np.bool_),
        "advantages": ((8, 3), np.float32),
        "returns": ((8, 3), np.float32),
    }
    arrays = buf.arrays()
    assert set(arrays) == set(expected)
    for name, (shape, dtype) in expected.items():
        assert arrays[name].shape == shape, name
        assert arrays[name].dtype == dtype, name
        assert arrays[name].flags.c_contiguous, name
        assert arrays[name] is getattr(buf, name)
    assert buf.batch_size == 24


@pytest.mark.parametrize(
    "kwargs,exc",
    [
        ({"num_steps": 0, "num_envs": 2}, ValueError),
        ({"num_steps": 2, "num_envs": 1.0}, TypeError),
        ({"num_steps": 2, "num_envs": 2, "num_actions": 0}, ValueError),
    ],
)
def test_buffer_bad_sizes(kwargs, exc):
    name = next(k for k, v in kwargs.items() if not (isinstance(v, int) and v >= 1))
    with pytest.raises(exc, match=named(name)):
        RolloutBuffer(**kwargs)


def test_buffer_compute_gae_in_place_matches_reference():
    buf = RolloutBuffer(num_steps=32, num_envs=5)
    data = random_rollout(32, 5, seed=11)
    for name in ["rewards", "values", "terminated", "truncated", "final_values"]:
        getattr(buf, name)[...] = data[name]
    adv_before, ret_before = buf.advantages, buf.returns
    adv, ret = buf.compute_gae(data["next_values"].astype(np.float64), 0.99, 0.95)
    assert adv is adv_before and ret is ret_before
    assert np.shares_memory(adv, buf.advantages) and np.shares_memory(ret, buf.returns)
    assert_close_to_reference(buf.advantages, buf.returns, data, 0.99, 0.95)


def test_buffer_compute_gae_bad_next_values():
    buf = RolloutBuffer(num_steps=4, num_envs=3)
    with pytest.raises(ValueError, match=named("next_values") + "must have shape"):
        buf.compute_gae(np.zeros(4), 0.99, 0.95)
    with pytest.raises(ValueError, match=named("gamma")):
        buf.compute_gae(np.zeros(3), 1.5, 0.95)


@pytest.mark.parametrize("T,N,k", [(8, 4, 4), (16, 2, 3), (5, 3, 15), (1, 1, 1)])
def test_minibatches_partition_the_batch(T, N, k):
    buf = RolloutBuffer(num_steps=T, num_envs=N)
    batches = list(buf.minibatches(k, seed=3))
    assert len(batches) == k
    sizes = [len(b) for b in batches]
    assert max(sizes) - min(sizes) <= 1
    assert all(b.dtype == np.int64 for b in batches)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(T * N))
    again = list(buf.minibatches(k, seed=3))
    for a, b in zip(batches, again):
        np.testing.assert_array_equal(a, b)


def test_minibatches_bad_count():
    buf = RolloutBuffer(num_steps=2, num_envs=2)
    with pytest.raises(ValueError, match=named("num_minibatches")):
        list(buf.minibatches(5, seed=0))
    with pytest.raises(ValueError, match=named("num_minibatches")):
        list(buf.minibatches(0, seed=0))
    with pytest.raises(ValueError, match=named("seed")):
        list(buf.minibatches(2, seed=-1))


def test_torch_views_share_memory():
    torch = pytest.importorskip("torch")
    buf = RolloutBuffer(num_steps=4, num_envs=2, num_actions=7)
    views = buf.torch_views()
    assert set(views) == set(buf.arrays())
    assert views["terminated"].dtype == torch.bool
    assert views["hints"].shape == (4, 2, 7)
    views["rewards"][1, 1] = 3.5
    views["image"][0, 0, 0, 0, 0] = 9
    assert buf.rewards[1, 1] == 3.5 and buf.image[0, 0, 0, 0, 0] == 9
    buf.advantages[2, 0] = -1.25
    buf.compute_gae(np.zeros(2, np.float32), 0.99, 0.95)
    torch.testing.assert_close(views["advantages"], torch.from_numpy(buf.advantages.copy()))
    flat = views["values"].reshape(-1)
    assert flat.data_ptr() == buf.values.ctypes.data
