// Unit tests for the feedback aggregation, the running statistics and the feedback table.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "feedback/feedback_table.h"
#include "feedback/running_stats.h"
#include "feedback/td_feedback.h"

namespace bidir {
namespace {

// One env (N = 1) over T steps with equal teacher/behaviour log-probs (rho = 1).
struct Column {
  explicit Column(int t)
      : T(t), rewards(t), values(t), final_values(t), teacher(t), behaviour(t) {
    terminated.assign(t, 0);
    truncated.assign(t, 0);
    queries.assign(t, 0);
  }
  FeedbackInputs Inputs() const {
    FeedbackInputs in;
    in.T = T;
    in.N = 1;
    in.rewards = rewards.data();
    in.values = values.data();
    in.terminated = reinterpret_cast<const bool*>(terminated.data());
    in.truncated = reinterpret_cast<const bool*>(truncated.data());
    in.final_values = final_values.data();
    in.next_values = &next_value;
    in.queries = reinterpret_cast<const bool*>(queries.data());
    in.teacher_logprobs = teacher.data();
    in.behaviour_logprobs = behaviour.data();
    return in;
  }
  int T;
  std::vector<float> rewards, values, final_values, teacher, behaviour;
  std::vector<unsigned char> terminated, truncated, queries;
  float next_value = 0.0f;
};

struct Out {
  explicit Out(int n) : deltas(n), advantages(n), ratios(n), feedback(n), lengths(n) {}
  FeedbackOutputs Pointers() {
    return {deltas.data(), advantages.data(), ratios.data(), feedback.data(), lengths.data()};
  }
  std::vector<float> deltas, advantages, ratios, feedback;
  std::vector<int32_t> lengths;
};

Out Aggregate(const Column& c, double gamma, double lam, double rho_max = 1.0) {
  Out o(c.T);
  AggregateFeedback(c.Inputs(), gamma, lam, rho_max, o.Pointers());
  return o;
}

TEST(AggregateFeedback, TdErrorsBootstrapLikeGae) {
  Column c(3);
  c.rewards = {0.0f, 1.0f, 0.5f};
  c.values = {0.2f, 0.4f, 0.8f};
  c.next_value = 0.6f;
  Out o = Aggregate(c, 0.9, 1.0);
  EXPECT_FLOAT_EQ(o.deltas[0], 0.0f + 0.9f * 0.4f - 0.2f);
  EXPECT_FLOAT_EQ(o.deltas[1], 1.0f + 0.9f * 0.8f - 0.4f);
  EXPECT_FLOAT_EQ(o.deltas[2], 0.5f + 0.9f * 0.6f - 0.8f);
  c.terminated[1] = 1;
  c.truncated[2] = 1;
  c.final_values[2] = 2.0f;
  o = Aggregate(c, 0.9, 1.0);
  EXPECT_FLOAT_EQ(o.deltas[1], 1.0f - 0.4f);              // no bootstrap
  EXPECT_FLOAT_EQ(o.deltas[2], 0.5f + 0.9f * 2.0f - 0.8f);  // from the final observation
}

TEST(AggregateFeedback, WindowsEndAtNextQueryAndEpisodeEnd) {
  Column c(6);
  c.rewards = {1, 1, 1, 1, 1, 1};  // values 0 and gamma 0: every delta is 1
  c.queries = {1, 0, 0, 1, 0, 1};
  c.terminated[4] = 1;
  Out o = Aggregate(c, 0.0, 1.0);
  // gamma * lam = 0: each window's feedback is its first delta.
  EXPECT_FLOAT_EQ(o.feedback[0], 1.0f);
  EXPECT_EQ(o.lengths[0], 3);
  EXPECT_EQ(o.lengths[3], 2);  // ends at the termination
  EXPECT_EQ(o.lengths[5], 1);  // the rollout's last step
  EXPECT_EQ(o.lengths[1], 0);
  EXPECT_EQ(o.feedback[1], 0.0f);
}

TEST(AggregateFeedback, DiscountedSumOverTheWindow) {
  Column c(4);
  c.rewards = {1, 2, 3, 4};
  c.queries = {1, 0, 0, 0};
  c.truncated[2] = 1;  // the window stops after step 2
  Out o = Aggregate(c, 0.5, 0.5);  // values are 0: delta_t = r_t (and final value 0)
  EXPECT_FLOAT_EQ(o.feedback[0], 1.0f + 0.25f * 2.0f + 0.0625f * 3.0f);
  EXPECT_EQ(o.lengths[0], 3);
  EXPECT_EQ(o.feedback[3], 0.0f);  // step 3 has no query of its own
}

TEST(AggregateFeedback, TruncatedImportanceRatios) {
  Column c(2);
  c.rewards = {1, 1};
  c.queries = {1, 0};
  c.teacher = {std::log(0.5f), std::log(0.9f)};
  c.behaviour = {std::log(0.25f), std::log(0.3f)};  // ratios 2 and 3
  Out o = Aggregate(c, 0.0, 1.0, 1.5);
  EXPECT_FLOAT_EQ(o.feedback[0], 1.5f);  // min(1.5, 2) * 1
  EXPECT_FLOAT_EQ(o.ratios[0], 1.5f);
  EXPECT_FLOAT_EQ(o.advantages[0], 1.0f);  // unweighted
  EXPECT_EQ(o.ratios[1], 0.0f);            // not a query
  c.teacher[0] = std::log(0.1f);  // ratio 0.4: kept, and it weighs the whole window
  o = Aggregate(c, 1.0, 1.0, 1.5);  // step 1's ratio (3) is not the query's: ignored
  EXPECT_NEAR(o.feedback[0], 0.4f * (1.0f + 1.0f), 1e-6);
}

TEST(AggregateFeedback, ColumnsAreIndependent) {
  // Two envs: env 1 is env 0's column shifted; its results must equal a one-env run.
  Column a(3);
  a.rewards = {0.5f, -1.0f, 2.0f};
  a.values = {0.1f, 0.2f, 0.3f};
  a.queries = {1, 1, 0};
  a.next_value = 0.7f;
  Out single = Aggregate(a, 0.99, 0.95);
  std::vector<float> r, v, fv, te, be;
  std::vector<unsigned char> term, trunc, q;
  for (int t = 0; t < 3; ++t) {
    r.insert(r.end(), {9.0f, a.rewards[t]});
    v.insert(v.end(), {1.0f, a.values[t]});
    fv.insert(fv.end(), {0.0f, 0.0f});
    te.insert(te.end(), {0.0f, 0.0f});
    be.insert(be.end(), {0.0f, 0.0f});
    term.insert(term.end(), {1, 0});
    trunc.insert(trunc.end(), {0, 0});
    q.insert(q.end(), {1, a.queries[t]});
  }
  float nv[2] = {5.0f, 0.7f};
  FeedbackInputs in{3,
                    2,
                    r.data(),
                    v.data(),
                    reinterpret_cast<const bool*>(term.data()),
                    reinterpret_cast<const bool*>(trunc.data()),
                    fv.data(),
                    nv,
                    reinterpret_cast<const bool*>(q.data()),
                    te.data(),
                    be.data()};
  Out two(6);
  AggregateFeedback(in, 0.99, 0.95, 1.0, two.Pointers());
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(two.feedback[t * 2 + 1], single.feedback[t]);
    EXPECT_EQ(two.lengths[t * 2 + 1], single.lengths[t]);
    EXPECT_FLOAT_EQ(two.feedback[t * 2], 8.0f);  // 9 - 1, terminated every step
  }
}

TEST(RunningMeanStd, MatchesTwoPassStatisticsAcrossBatches) {
  RunningMeanStd s;
  std::vector<float> a = {1, 2, 3, 4}, b = {10, -2, 7};
  std::vector<unsigned char> mask = {1, 0, 1};  // b's -2 is masked out
  s.Update(a.data(), nullptr, a.size());
  s.Update(b.data(), reinterpret_cast<const bool*>(mask.data()), b.size());
  const std::vector<double> all = {1, 2, 3, 4, 10, 7};
  double mean = 0, var = 0;
  for (double x : all) mean += x / all.size();
  for (double x : all) var += (x - mean) * (x - mean) / all.size();
  EXPECT_DOUBLE_EQ(s.count(), 6.0);
  EXPECT_NEAR(s.mean(), mean, 1e-12);
  EXPECT_NEAR(s.Variance(), var, 1e-12);
  float x[2] = {static_cast<float>(mean), 1e6f}, out[2];
  s.Normalize(x, nullptr, 2, 1e-8, 5.0, out);
  EXPECT_NEAR(out[0], 0.0f, 1e-6);
  EXPECT_EQ(out[1], 5.0f);  // clipped
}

TEST(RunningMeanStd, EmptyStatsLeaveValuesAsTheyAre) {
  RunningMeanStd s;
  float x[2] = {0.5f, -3.0f}, out[2];
  s.Normalize(x, nullptr, 2, 0.0, 10.0, out);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], -3.0f);
}

TEST(FeedbackTable, MovingAverageLookupAndEviction) {
  FeedbackTable table(3, 0.5, 2);
  const uint64_t h[3] = {11, 11, 22};
  const int64_t a[3] = {1, 1, 2};
  const float f[3] = {4.0f, 2.0f, -1.0f};
  table.Update(3, h, a, f);
  float out[6];
  const uint64_t q[2] = {11, 33};
  table.Lookup(2, q, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 3.0f);  // 4, then 4 + 0.5 * (2 - 4)
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3] + out[4] + out[5], 0.0f);  // unseen prompt
  const uint64_t h2 = 33;
  const int64_t a2 = 0;
  const float f2 = 1.0f;
  table.Update(1, &h2, &a2, &f2);  // capacity 2: evicts 11, the first inserted
  EXPECT_EQ(table.size(), 2u);
  table.Lookup(1, h, out);
  EXPECT_EQ(out[1], 0.0f);
  std::vector<uint64_t> keys;
  std::vector<float> values;
  std::vector<uint32_t> counts;
  table.Export(&keys, &values, &counts);
  EXPECT_EQ(keys, (std::vector<uint64_t>{22, 33}));
  FeedbackTable copy(3, 0.5, 2);
  copy.Import(keys, values, counts);
  float x[3], y[3];
  table.Lookup(1, &keys[0], x);
  copy.Lookup(1, &keys[0], y);
  EXPECT_EQ(std::vector<float>(x, x + 3), std::vector<float>(y, y + 3));
}

}  // namespace
}  // namespace bidir
