"""Bad values are refused where they enter the feedback code (NaN/inf, corrupt states,
numpy masked arrays), with a message naming the argument; nothing is half-applied."""

from __future__ import annotations

import numpy as np
import pytest

from bidir_core._checks import reject_masked
from bidir_core.feedback import FeedbackAggregator, FeedbackTable, RunningMeanStd


def rollout(T: int = 4, N: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "rewards": rng.normal(size=(T, N)).astype(np.float32),
        "values": rng.normal(size=(T, N)).astype(np.float32),
        "terminated": np.zeros((T, N), np.bool_),
        "truncated": np.zeros((T, N), np.bool_),
        "final_values": np.zeros((T, N), np.float32),
        "next_values": np.zeros(N, np.float32),
        "queries": np.ones((T, N), np.bool_),
        "teacher_logprobs": np.full((T, N), np.log(0.5), np.float32),
        "behaviour_logprobs": np.full((T, N), np.log(0.5), np.float32),
    }


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_plus_inf_teacher_logprob_is_rejected_not_weighted_rho_max(bad):
    roll = rollout()
    roll["teacher_logprobs"][2, 1] = bad
    agg = FeedbackAggregator(rho_max=1.0)
    with pytest.raises(ValueError, match=r"teacher_logprobs\[2, 1\] is (nan|inf)"):
        agg(**roll)
    assert agg.stats.count == 0  # nothing was folded into the statistics


def test_minus_inf_teacher_logprob_is_an_action_never_proposed_weight_zero():
    roll = rollout()
    roll["teacher_logprobs"][:, 0] = -np.inf
    out = FeedbackAggregator()(**roll)
    assert np.all(out.ratios[:, 0] == 0) and np.all(out.normalized[:, 0] == 0)
    assert np.all(out.ratios[:, 1:] == pytest.approx(1.0))


def test_values_outside_query_steps_are_not_read():
    roll = rollout()
    roll["queries"][1, :] = False
    roll["teacher_logprobs"][1, :] = np.nan  # e.g. a buffer never written there
    roll["behaviour_logprobs"][1, :] = np.nan
    roll["final_values"][:] = np.nan  # read only where an episode was truncated
    out = FeedbackAggregator()(**roll)
    assert np.isfinite(out.normalized).all()


@pytest.mark.parametrize(
    "name,index,value",
    [
        ("behaviour_logprobs", (0, 2), -np.inf),
        ("behaviour_logprobs", (3, 0), np.nan),
        ("rewards", (1, 1), np.nan),
        ("values", (0, 0), np.inf),
        ("final_values", (2, 2), np.nan),
        ("next_values", (1,), np.nan),
    ],
)
def test_other_non_finite_inputs_are_rejected(name, index, value):
    roll = rollout()
    roll["truncated"][2, 2] = True
    roll[name][index] = value
    with pytest.raises(ValueError, match=rf"{name}\[{', '.join(map(str, index))}\]"):
        FeedbackAggregator()(**roll)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_running_mean_std_rejects_non_finite_values_and_stays_resumable(bad):
    stats = RunningMeanStd()
    stats.update(np.array([1.0, 2.0, 3.0], np.float32))
    before = stats.state()
    with pytest.raises(ValueError, match=r"x\[1\] is"):
        stats.update(np.array([1.0, bad, 3.0], np.float32))
    assert stats.state() == before
    RunningMeanStd().load_state(stats.state())  # the state still loads (a checkpoint resumes)
    # Masked-out entries are not read.
    stats.update(np.array([1.0, bad], np.float32), np.array([True, False]))
    assert stats.count == 4


def table_state(**changes):
    table = FeedbackTable(num_actions=7, capacity=4)
    table.update(np.array([1, 2], np.uint64), np.array([0, 3]), np.array([0.5, -1.0], np.float32))
    state = table.state()
    state.update(changes)
    return state


def test_feedback_table_load_state_rejects_duplicate_keys():
    state = table_state()
    state["keys"] = np.array([5, 5], np.uint64)
    table = FeedbackTable(num_actions=7, capacity=4)
    with pytest.raises(ValueError, match="repeats key 5"):
        table.load_state(state)
    assert len(table) == 0


@pytest.mark.parametrize("value,exc", [("7", TypeError), (7.0, TypeError), (True, TypeError)])
def test_feedback_table_load_state_rejects_a_num_actions_that_is_not_an_int(value, exc):
    with pytest.raises(exc, match="num_actions"):
        FeedbackTable(num_actions=7).load_state(table_state(num_actions=value))
    FeedbackTable(num_actions=7).load_state(table_state(num_actions=np.int64(7)))


def test_feedback_table_load_state_rejects_more_keys_than_its_capacity():
    with pytest.raises(ValueError, match="capacity"):
        FeedbackTable(num_actions=7, capacity=1).load_state(table_state())


def test_masked_arrays_are_rejected_by_the_feedback_entry_points():
    hidden = np.ma.array(np.array([0, 9]), mask=[False, True])  # 9: out of range, hidden
    table = FeedbackTable(num_actions=3)
    with pytest.raises(TypeError, match="actions is a numpy masked array"):
        table.update(np.array([1, 2], np.uint64), hidden, np.zeros(2, np.float32))
    assert len(table) == 0
    with pytest.raises(TypeError, match="x is a numpy masked array"):
        RunningMeanStd().update(np.ma.array(np.ones(2, np.float32), mask=[False, True]))
    roll = rollout()
    roll["rewards"] = np.ma.array(roll["rewards"], mask=np.zeros_like(roll["rewards"], bool))
    with pytest.raises(TypeError, match="rewards is a numpy masked array"):
        FeedbackAggregator()(**roll)
    with pytest.raises(TypeError, match="queries is a numpy masked array"):
        FeedbackAggregator()(**{**rollout(), "queries": np.ma.array(rollout()["queries"])})


def test_reject_masked_helper():
    reject_masked("a", np.zeros(2))
    reject_masked("a", [1, 2])
    with pytest.raises(TypeError, match="fill the masked entries"):
        reject_masked("a", np.ma.masked_array([1, 2], mask=[True, False]))


def test_masked_arrays_are_rejected_by_the_vector_env():
    import bidir_core

    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 2, seed=0)
    env.reset()
    masked = np.ma.masked_array(np.zeros(2, np.int64), mask=[False, True])
    with pytest.raises(TypeError, match="actions"):
        env.step(masked)
    with pytest.raises(TypeError, match="reset_mask"):
        env.reset(options={"reset_mask": np.ma.masked_array(np.ones(2, bool))})
    with pytest.raises(TypeError, match="indices"):
        env.prompts(np.ma.masked_array(np.zeros(1, np.int64)))
