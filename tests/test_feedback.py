"""Feedback aggregation against a straightforward numpy reference, plus its bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bidir_core.feedback import FeedbackAggregator, FeedbackTable, RunningMeanStd


def reference_feedback(r, v, term, trunc, fv, nv, q, lt, lb, gamma, lam, rho_max):
    """Forward, window by window, exactly as docs/method.md words it: the query's truncated
    importance ratio times the (gamma * lam)-discounted TD errors of its window."""
    T, N = r.shape
    deltas = np.zeros((T, N))
    for t in range(T):
        for n in range(N):
            if term[t, n]:
                b = 0.0
            elif trunc[t, n]:
                b = fv[t, n]
            else:
                b = v[t + 1, n] if t + 1 < T else nv[n]
            deltas[t, n] = r[t, n] + gamma * b - v[t, n]
    rho = np.minimum(rho_max, np.exp(lt.astype(np.float64) - lb.astype(np.float64)))
    fb = np.zeros((T, N))
    adv = np.zeros((T, N))
    lengths = np.zeros((T, N), np.int32)
    for n in range(N):
        for t in range(T):
            if not q[t, n]:
                continue
            j, total, w = t, 0.0, 1.0
            while True:
                total += w * deltas[j, n]
                w *= gamma * lam
                if term[j, n] or trunc[j, n] or j + 1 == T or q[j + 1, n]:
                    break
                j += 1
            fb[t, n] = rho[t, n] * total
            adv[t, n] = total
            lengths[t, n] = j - t + 1
    return deltas, fb, lengths, adv, np.where(q, rho, 0.0)


def random_rollout(rng: np.random.Generator, T: int = 40, N: int = 6) -> dict[str, np.ndarray]:
    term = rng.random((T, N)) < 0.08
    trunc = (rng.random((T, N)) < 0.05) & ~term
    return {
        "rewards": rng.normal(size=(T, N)).astype(np.float32),
        "values": rng.normal(size=(T, N)).astype(np.float32),
        "terminated": term,
        "truncated": trunc,
        "final_values": rng.normal(size=(T, N)).astype(np.float32),
        "next_values": rng.normal(size=N).astype(np.float32),
        "queries": rng.random((T, N)) < 0.3,
        "teacher_logprobs": np.log(rng.uniform(0.05, 1.0, (T, N))).astype(np.float32),
        "behaviour_logprobs": np.log(rng.uniform(0.05, 1.0, (T, N))).astype(np.float32),
    }


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("gamma,lam,rho_max", [(0.99, 0.95, 1.0), (0.9, 1.0, 2.0), (1.0, 0.0, 0.5)])
def test_matches_numpy_reference(seed: int, gamma: float, lam: float, rho_max: float) -> None:
    roll = random_rollout(np.random.default_rng(seed))
    agg = FeedbackAggregator(gamma=gamma, lam=lam, rho_max=rho_max)
    out = agg(**roll)
    deltas, fb, lengths, adv, ratios = reference_feedback(*roll.values(), gamma, lam, rho_max)
    np.testing.assert_allclose(out.deltas, deltas, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.raw, fb, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out.window_lengths, lengths)
    np.testing.assert_allclose(out.advantages, adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.ratios, ratios, rtol=1e-5, atol=1e-6)
    assert out.window_lengths[roll["queries"]].min() >= 1


def test_normalisation_uses_running_stats_over_queries_and_clips() -> None:
    rng = np.random.default_rng(7)
    agg = FeedbackAggregator(clip=1.5)
    seen = []
    for _ in range(3):
        roll = random_rollout(rng)
        out = agg(**roll)
        seen.append(out.advantages[roll["queries"]].astype(np.float64))
    allq = np.concatenate(seen)
    assert agg.stats.count == allq.size
    assert agg.stats.mean == pytest.approx(allq.mean(), rel=1e-6)
    assert agg.stats.var == pytest.approx(allq.var(), rel=1e-6)
    q = roll["queries"]
    # the ratio weights the normalised (unweighted) advantage; raw = ratio * advantage
    rho = np.minimum(1.0, np.exp(roll["teacher_logprobs"] - roll["behaviour_logprobs"]))
    np.testing.assert_allclose(out.ratios[q], rho[q], rtol=1e-5)
    np.testing.assert_allclose(out.raw[q], (rho * out.advantages)[q], rtol=1e-4, atol=1e-6)
    expect = rho * np.clip((out.advantages - allq.mean()) / (allq.std() + 1e-8), -1.5, 1.5)
    np.testing.assert_allclose(out.normalized[q], expect[q], rtol=1e-4, atol=1e-5)
    assert np.all(out.normalized[~q] == 0)
    assert np.abs(out.normalized).max() <= 1.5
    stats = out.stats()
    assert stats["feedback/queries"] == q.sum()


def test_an_action_the_teacher_never_proposes_gets_no_feedback() -> None:
    """piT(a) = 0 (rho = 0) must give feedback 0 even when the critic's running mean is
    negative; centring the rho-weighted feedback would hand it -mean / std > 0 instead."""
    T, N = 4, 2
    queries = np.ones((T, N), np.bool_)
    roll = {
        "rewards": np.zeros((T, N), np.float32),
        "values": np.full((T, N), 0.5, np.float32),  # an over-optimistic critic: delta < 0
        "terminated": np.ones((T, N), np.bool_),
        "truncated": np.zeros((T, N), np.bool_),
        "final_values": np.zeros((T, N), np.float32),
        "next_values": np.zeros(N, np.float32),
        "queries": queries,
        "behaviour_logprobs": np.full((T, N), np.log(0.5), np.float32),
    }
    roll["values"][:, 1] = 0.3
    teacher = np.full((T, N), np.log(0.5), np.float32)
    teacher[:, 1] = -np.inf  # env 1's actions are ones the teacher never proposes
    out = FeedbackAggregator(clip=5.0)(**roll, teacher_logprobs=teacher)
    assert out.advantages[:, 1] == pytest.approx(-0.3) and out.ratios[:, 1].max() == 0
    assert np.all(out.normalized[:, 1] == 0)
    assert np.all(out.normalized[:, 0] < 0)  # the worse-than-average action, proposed


def test_state_round_trip_restores_normalisation() -> None:
    rng = np.random.default_rng(3)
    a = FeedbackAggregator()
    a(**random_rollout(rng))
    b = FeedbackAggregator()
    b.load_state_dict(a.state_dict())
    roll = random_rollout(rng)
    np.testing.assert_array_equal(a(**roll).normalized, b(**roll).normalized)
    with pytest.raises(ValueError, match="gamma"):
        FeedbackAggregator(gamma=0.5).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="count"):
        RunningMeanStd().load_state({"count": -1.0, "mean": 0.0, "m2": 0.0})


def test_feedback_table_moving_average_state_and_eviction() -> None:
    table = FeedbackTable(num_actions=7, rate=0.25, capacity=3)
    h = np.array([5, 5, 9], np.uint64)
    table.update(h, np.array([2, 2, 6]), np.array([1.0, -1.0, 3.0], np.float32))
    vals = table.lookup(np.array([5, 9, 123], np.uint64))
    assert vals.shape == (3, 7) and vals.dtype == np.float32
    assert vals[0, 2] == pytest.approx(1.0 + 0.25 * (-1.0 - 1.0))
    assert vals[1, 6] == 3.0 and vals[2].sum() == 0
    copy = FeedbackTable(num_actions=7, rate=0.25, capacity=3)
    copy.load_state(table.state())
    np.testing.assert_array_equal(copy.lookup(h), table.lookup(h))
    table.update(np.array([1, 2], np.uint64), np.array([0, 0]), np.array([1, 1], np.float32))
    assert len(table) == 3
    assert table.lookup(np.array([5], np.uint64)).sum() == 0  # 5 was evicted first


def test_bad_input_is_rejected_with_the_argument_named() -> None:
    roll = random_rollout(np.random.default_rng(0))
    agg = FeedbackAggregator()
    with pytest.raises(TypeError, match="queries"):
        agg(**{**roll, "queries": roll["queries"].astype(np.int8)})
    with pytest.raises(ValueError, match="next_values"):
        agg(**{**roll, "next_values": roll["next_values"][:-1]})
    with pytest.raises(ValueError, match="rewards"):
        agg(**{**roll, "rewards": roll["rewards"][0]})
    with pytest.raises(ValueError, match="rho_max"):
        FeedbackAggregator(rho_max=0.0)
    with pytest.raises(ValueError, match="lam"):
        FeedbackAggregator(lam=1.5)
    table = FeedbackTable(num_actions=3)
    with pytest.raises(ValueError, match="actions"):
        table.update(np.array([1], np.uint64), np.array([3]), np.array([0.0], np.float32))
    with pytest.raises(ValueError, match="finite"):
        table.update(np.array([1], np.uint64), np.array([0]), np.array([np.nan], np.float32))
    with pytest.raises(TypeError, match="hashes"):
        table.lookup(np.array([1], np.int64))
    with pytest.raises(ValueError, match="num_actions"):
        FeedbackTable(num_actions=4).load_state(table.state())
    with pytest.raises(ValueError, match="rate"):
        FeedbackTable(num_actions=3, rate=2.0)
