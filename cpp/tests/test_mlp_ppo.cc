// MlpPpoGradients: the gradients agree with central finite differences of the loss the
// same call reports, unused input features get zero weight gradients, bad shapes throw.
// (tests/test_student.py checks the same kernel against torch autograd.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "student/mlp_ppo.h"

namespace bidir {
namespace {

struct Net {
  // Layer sizes: features -> hidden -> hidden -> actions + 1.
  Net(int features, int hidden, int actions, uint32_t seed) : sizes{features, hidden, hidden, actions + 1} {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 0.6f);
    for (int l = 0; l < 3; ++l) {
      w.emplace_back(sizes[l + 1] * sizes[l]);
      b.emplace_back(sizes[l + 1]);
      gw.emplace_back(w.back().size());
      gb.emplace_back(b.back().size());
      for (float& v : w.back()) v = normal(gen);
      for (float& v : b.back()) v = 0.3f * normal(gen);
    }
  }
  std::vector<DenseLayer> Layers() {
    std::vector<DenseLayer> out;
    for (int l = 0; l < 3; ++l) {
      out.push_back({sizes[l], sizes[l + 1], w[l].data(), b[l].data(), gw[l].data(), gb[l].data()});
    }
    return out;
  }
  std::vector<int> sizes;
  std::vector<std::vector<float>> w, b, gw, gb;
};

struct Batch {
  Batch(int n, int features, int actions, uint32_t seed)
      : x(n * features), act(n), old_lp(n), old_v(n), adv(n), ret(n) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, actions - 1);
    for (int i = 0; i < n; ++i) {
      // Sparse rows: features 0..features-3 are one-hot-like, the last two never used.
      for (int j = 0; j < features - 2; ++j) x[i * features + j] = (gen() % 3 == 0) ? 1.0f : 0.0f;
      x[i * features + i % (features - 2)] = 0.5f + std::fabs(normal(gen));
      act[i] = pick(gen);
      old_lp[i] = -1.2f + 0.4f * normal(gen);
      old_v[i] = normal(gen);
      adv[i] = normal(gen);
      ret[i] = normal(gen);
    }
    sparse.Assign(x.data(), n, features);
    for (int i = 0; i < n; ++i) rows.push_back(i);
    mb.n = n;
    mb.actions = act.data();
    mb.old_logprobs = old_lp.data();
    mb.old_values = old_v.data();
    mb.advantages = adv.data();
    mb.returns = ret.data();
  }
  std::vector<float> x;
  std::vector<int64_t> act;
  std::vector<float> old_lp, old_v, adv, ret;
  SparseRows sparse;
  std::vector<int64_t> rows;
  PpoMinibatch mb;
};

double Loss(const float* stats, const PpoLossConfig& c) {
  return stats[kPolicyLoss] - c.ent_coef * stats[kEntropy] + c.vf_coef * stats[kValueLoss];
}

class MlpPpoGradientsTest : public ::testing::TestWithParam<PpoLossConfig> {};

TEST_P(MlpPpoGradientsTest, MatchesFiniteDifferences) {
  const PpoLossConfig config = GetParam();
  constexpr int kFeatures = 10, kHidden = 6, kActions = 3, kRows = 8;
  Net net(kFeatures, kHidden, kActions, 7);
  Batch batch(kRows, kFeatures, kActions, 11);
  MlpPpoScratch scratch;
  float stats[kNumPpoStats];
  MlpPpoGradients(batch.sparse, batch.rows.data(), net.Layers(), batch.mb, config, scratch, stats);
  const auto grads_w = net.gw;
  const auto grads_b = net.gb;
  auto loss_at = [&]() {
    float s[kNumPpoStats];
    MlpPpoGradients(batch.sparse, batch.rows.data(), net.Layers(), batch.mb, config, scratch, s);
    return Loss(s, config);
  };
  const float h = 1e-3f;
  int checked = 0;
  for (int l = 0; l < 3; ++l) {
    for (int which = 0; which < 2; ++which) {
      std::vector<float>& params = which == 0 ? net.w[l] : net.b[l];
      const std::vector<float>& analytic = which == 0 ? grads_w[l] : grads_b[l];
      for (size_t k = 0; k < params.size(); ++k) {
        const float keep = params[k];
        params[k] = keep + h;
        const double up = loss_at();
        params[k] = keep - h;
        const double down = loss_at();
        params[k] = keep;
        const double numeric = (up - down) / (2.0 * h);
        EXPECT_NEAR(analytic[k], numeric, 2e-3 + 2e-2 * std::fabs(numeric))
            << "layer " << l << (which == 0 ? " weight " : " bias ") << k;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100);
  // The last two features are zero in every row: their weight columns get no gradient.
  for (int o = 0; o < kHidden; ++o) {
    EXPECT_EQ(grads_w[0][o * kFeatures + kFeatures - 1], 0.0f);
    EXPECT_EQ(grads_w[0][o * kFeatures + kFeatures - 2], 0.0f);
  }
  EXPECT_GE(stats[kEntropy], 0.0f);
  EXPECT_LE(stats[kEntropy], std::log(static_cast<float>(kActions)) + 1e-5f);
  EXPECT_GE(stats[kClipFrac], 0.0f);
  EXPECT_LE(stats[kClipFrac], 1.0f);
}

INSTANTIATE_TEST_SUITE_P(Options, MlpPpoGradientsTest,
                         ::testing::Values(PpoLossConfig{0.2f, 0.01f, 0.5f, true, true},
                                           PpoLossConfig{0.2f, 0.3f, 2.0f, false, true},
                                           PpoLossConfig{0.1f, 0.0f, 0.5f, true, false}));

TEST(MlpPpoGradients, StatsOfAKnownCase) {
  // One layer, one row, zero weights: uniform policy over 2 actions, value = bias.
  std::vector<float> w(3 * 2, 0.0f), b = {0.0f, 0.0f, 0.25f}, gw(6), gb(3);
  std::vector<DenseLayer> layers = {{2, 3, w.data(), b.data(), gw.data(), gb.data()}};
  const float x[2] = {1.0f, 0.0f};
  const int64_t act = 1;
  const float old_lp = std::log(0.5f), old_v = 0.25f, adv = 2.0f, ret = 1.25f;
  PpoMinibatch mb{1, &act, &old_lp, &old_v, &adv, &ret};
  PpoLossConfig c{0.2f, 0.0f, 1.0f, true, true};
  MlpPpoScratch scratch;
  float stats[kNumPpoStats];
  SparseRows sparse;
  sparse.Assign(x, 1, 2);
  const int64_t row = 0;
  MlpPpoGradients(sparse, &row, layers, mb, c, scratch, stats);
  EXPECT_NEAR(stats[kPolicyLoss], -2.0f, 1e-6f);  // ratio 1, one row: no normalisation
  EXPECT_NEAR(stats[kValueLoss], 0.5f, 1e-6f);    // 0.5 * (0.25 - 1.25)^2
  EXPECT_NEAR(stats[kEntropy], std::log(2.0f), 1e-6f);
  EXPECT_NEAR(stats[kApproxKl], 0.0f, 1e-6f);
  EXPECT_EQ(stats[kClipFrac], 0.0f);
  // d/d logits = -adv (onehot(a) - p) = (1, -1); d/d value = v - R = -1.
  EXPECT_NEAR(gb[0], 1.0f, 1e-6f);
  EXPECT_NEAR(gb[1], -1.0f, 1e-6f);
  EXPECT_NEAR(gb[2], -1.0f, 1e-6f);
  EXPECT_NEAR(gw[0 * 2 + 0], 1.0f, 1e-6f);  // times x[0] = 1
  EXPECT_EQ(gw[0 * 2 + 1], 0.0f);           // x[1] = 0
}

TEST(MlpPpoGradients, RejectsBadInput) {
  Net net(4, 3, 2, 1);
  Batch batch(2, 4, 2, 2);
  MlpPpoScratch scratch;
  float stats[kNumPpoStats];
  batch.act[1] = 2;  // only actions 0 and 1 exist
  EXPECT_THROW(MlpPpoGradients(batch.sparse, batch.rows.data(), net.Layers(), batch.mb, {},
                               scratch, stats),
               std::invalid_argument);
  batch.act[1] = 0;
  batch.rows[1] = 2;  // x has rows 0 and 1
  EXPECT_THROW(MlpPpoGradients(batch.sparse, batch.rows.data(), net.Layers(), batch.mb, {},
                               scratch, stats),
               std::invalid_argument);
  batch.rows[1] = 1;
  std::vector<DenseLayer> layers = net.Layers();
  layers[1].in = 5;  // does not chain with layer 0's 3 outputs
  EXPECT_THROW(
      MlpPpoGradients(batch.sparse, batch.rows.data(), layers, batch.mb, {}, scratch, stats),
      std::invalid_argument);
  EXPECT_THROW(MlpPpoGradients(batch.sparse, batch.rows.data(), {}, batch.mb, {}, scratch, stats),
               std::invalid_argument);
}

TEST(MlpPpoGradients, RowsSelectTheMinibatch) {
  // Rows (3, 1) of a 4-row x give the gradient of a 2-row x holding those rows.
  Net a(6, 4, 2, 3), b(6, 4, 2, 3);
  Batch full(4, 6, 2, 5);
  Batch two(2, 6, 2, 6);
  for (int k : {0, 1}) {
    const int src = k == 0 ? 3 : 1;
    std::copy(full.x.begin() + src * 6, full.x.begin() + src * 6 + 6, two.x.begin() + k * 6);
  }
  two.sparse.Assign(two.x.data(), 2, 6);
  const int64_t rows[2] = {3, 1};
  MlpPpoScratch scratch;
  float s1[kNumPpoStats], s2[kNumPpoStats];
  MlpPpoGradients(full.sparse, rows, a.Layers(), two.mb, {}, scratch, s1);
  MlpPpoGradients(two.sparse, two.rows.data(), b.Layers(), two.mb, {}, scratch, s2);
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(a.gw[l], b.gw[l]);
    EXPECT_EQ(a.gb[l], b.gb[l]);
  }
  EXPECT_EQ(s1[kPolicyLoss], s2[kPolicyLoss]);
}

// ClippedAdamStep against torch.optim.Adam's update written out by hand.
TEST(ClippedAdamStep, ClipsThenStepsLikeTorch) {
  std::vector<float> p = {1.0f, -2.0f}, g = {3.0f, 4.0f}, m = {0.0f, 0.1f}, v = {0.0f, 0.2f};
  float step = 1.0f;  // one step already taken
  AdamConfig c{0.01f, 0.9f, 0.999f, 1e-5f, 0.5f};
  const float norm = ClippedAdamStep(2, p.data(), g.data(), m.data(), v.data(), &step, c);
  EXPECT_FLOAT_EQ(norm, 5.0f);
  EXPECT_EQ(step, 2.0f);
  const float scale = 0.5f / (5.0f + 1e-6f);
  const float gc[2] = {3.0f * scale, 4.0f * scale};
  const float m0[2] = {0.0f, 0.1f}, v0[2] = {0.0f, 0.2f}, p0[2] = {1.0f, -2.0f};
  for (int k = 0; k < 2; ++k) {
    EXPECT_FLOAT_EQ(g[k], gc[k]);
    const double mk = 0.9 * m0[k] + 0.1 * gc[k];
    const double vk = 0.999 * v0[k] + 0.001 * gc[k] * gc[k];
    const double denom = std::sqrt(vk) / std::sqrt(1.0 - 0.999 * 0.999) + 1e-5;
    const double pk = p0[k] - 0.01 / (1.0 - 0.9 * 0.9) * mk / denom;
    EXPECT_NEAR(m[k], mk, 1e-7);
    EXPECT_NEAR(v[k], vk, 1e-7);
    EXPECT_NEAR(p[k], pk, 1e-6);
  }
  // A small gradient is not scaled.
  std::vector<float> g2 = {0.1f, 0.0f};
  ClippedAdamStep(2, p.data(), g2.data(), m.data(), v.data(), &step, c);
  EXPECT_EQ(g2[0], 0.1f);
}

}  // namespace
}  // namespace bidir
