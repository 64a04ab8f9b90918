// ComputeGae on tiny rollouts worked out by hand, and ShuffledIndices' permutations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "rollout/gae.h"

namespace bidir {
namespace {

// A (T, N) rollout with every input and output, laid out as ComputeGae expects.
struct Rollout {
  Rollout(int t, int n)
      : num_steps(t),
        num_envs(n),
        rewards(t * n),
        values(t * n),
        final_values(t * n),
        next_values(n),
        advantages(t * n, -999.0f),
        returns(t * n, -999.0f),
        terminated(new bool[t * n]()),
        truncated(new bool[t * n]()) {}
  void Run(float gamma, float lam) {
    ComputeGae(num_steps, num_envs, rewards.data(), values.data(), terminated.get(),
               truncated.get(), final_values.data(), next_values.data(), gamma, lam,
               advantages.data(), returns.data());
  }
  int num_steps, num_envs;
  std::vector<float> rewards, values, final_values, next_values, advantages, returns;
  std::unique_ptr<bool[]> terminated;  // std::vector<bool> has no data()
  std::unique_ptr<bool[]> truncated;
};

constexpr float kTol = 1e-5f;

void ExpectReturnsAreAdvantagesPlusValues(const Rollout& r) {
  for (int i = 0; i < r.num_steps * r.num_envs; ++i) {
    EXPECT_NEAR(r.returns[i], r.advantages[i] + r.values[i], kTol) << "index " << i;
  }
}

// One env, three steps, no episode end: gamma = 0.5, lam = 0.5 (gamma * lam = 0.25).
//   V = (1, 2, 3), next V = 4, r = (1, 1, 1)
//   delta_2 = 1 + 0.5 * 4 - 3 = 0      A_2 = 0
//   delta_1 = 1 + 0.5 * 3 - 2 = 0.5    A_1 = 0.5 + 0.25 * 0 = 0.5
//   delta_0 = 1 + 0.5 * 2 - 1 = 1      A_0 = 1 + 0.25 * 0.5 = 1.125
TEST(ComputeGae, NoEpisodeEnd) {
  Rollout r(3, 1);
  r.values = {1, 2, 3};
  r.next_values = {4};
  r.rewards = {1, 1, 1};
  r.final_values = {std::nanf(""), std::nanf(""), std::nanf("")};  // never read
  r.Run(0.5f, 0.5f);
  EXPECT_NEAR(r.advantages[2], 0.0f, kTol);
  EXPECT_NEAR(r.advantages[1], 0.5f, kTol);
  EXPECT_NEAR(r.advantages[0], 1.125f, kTol);
  ExpectReturnsAreAdvantagesPlusValues(r);
}

// Termination at t = 1: no bootstrap there and nothing flows back from t = 2.
//   delta_2 = 1 + 0.5 * 4 - 3 = 0      A_2 = 0
//   delta_1 = 1 + 0 - 2 = -1           A_1 = -1
//   delta_0 = 1 + 0.5 * 2 - 1 = 1      A_0 = 1 + 0.25 * (-1) = 0.75
TEST(ComputeGae, Termination) {
  Rollout r(3, 1);
  r.values = {1, 2, 3};
  r.next_values = {4};
  r.rewards = {1, 1, 1};
  r.terminated[1] = true;
  r.final_values[1] = 100;  // ignored: a terminated episode has no bootstrap
  r.Run(0.5f, 0.5f);
  EXPECT_NEAR(r.advantages[2], 0.0f, kTol);
  EXPECT_NEAR(r.advantages[1], -1.0f, kTol);
  EXPECT_NEAR(r.advantages[0], 0.75f, kTol);
  ExpectReturnsAreAdvantagesPlusValues(r);
}

// Truncation at t = 1: bootstrap from final_values[1] = 6 (not values[2] = 3, the next
// episode's first state), and nothing flows back from t = 2.
//   delta_2 = 1 + 0.5 * 4 - 3 = 0      A_2 = 0
//   delta_1 = 1 + 0.5 * 6 - 2 = 2      A_1 = 2
//   delta_0 = 1 + 0.5 * 2 - 1 = 1      A_0 = 1 + 0.25 * 2 = 1.5
TEST(ComputeGae, Truncation) {
  Rollout r(3, 1);
  r.values = {1, 2, 3};
  r.next_values = {4};
  r.rewards = {1, 1, 1};
  r.truncated[1] = true;
  r.final_values = {std::nanf(""), 6, std::nanf("")};
  r.Run(0.5f, 0.5f);
  EXPECT_NEAR(r.advantages[2], 0.0f, kTol);
  EXPECT_NEAR(r.advantages[1], 2.0f, kTol);
  EXPECT_NEAR(r.advantages[0], 1.5f, kTol);
  ExpectReturnsAreAdvantagesPlusValues(r);
}

// Truncation at the last step bootstraps from final_values, not next_values.
//   delta_1 = 0 + 0.5 * 10 - 2 = 3     A_1 = 3
//   delta_0 = 0 + 0.5 * 2 - 1 = 0      A_0 = 0 + 0.25 * 3 = 0.75
TEST(ComputeGae, TruncationAtLastStep) {
  Rollout r(2, 1);
  r.values = {1, 2};
  r.next_values = {-50};
  r.rewards = {0, 0};
  r.truncated[1] = true;
  r.final_values = {std::nanf(""), 10};
  r.Run(0.5f, 0.5f);
  EXPECT_NEAR(r.advantages[1], 3.0f, kTol);
  EXPECT_NEAR(r.advantages[0], 0.75f, kTol);
}

// Terminated and truncated in the same step (the goal reached on the last allowed step):
// termination wins, so no bootstrap, even from final_values.
//   delta_1 = 1 + 0 - 2 = -1           A_1 = -1
//   delta_0 = 1 + 0.5 * 2 - 1 = 1      A_0 = 1 + 0.25 * (-1) = 0.75
TEST(ComputeGae, TerminatedAndTruncated) {
  Rollout r(3, 1);
  r.values = {1, 2, 3};
  r.next_values = {4};
  r.rewards = {1, 1, 1};
  r.terminated[1] = true;
  r.truncated[1] = true;
  r.final_values = {0, std::nanf(""), 0};
  r.Run(0.5f, 0.5f);
  EXPECT_NEAR(r.advantages[2], 0.0f, kTol);
  EXPECT_NEAR(r.advantages[1], -1.0f, kTol);
  EXPECT_NEAR(r.advantages[0], 0.75f, kTol);
  ExpectReturnsAreAdvantagesPlusValues(r);
}

// Envs are independent columns: env 0 terminates at t = 0, env 1 truncates at t = 0,
// env 2 runs on. gamma = 1, lam = 1, V = 0 everywhere, r = 1, next V = (5, 5, 5),
// final_values[0, 1] = 7.
//   env 0: A_1 = 1 + 5 = 6, A_0 = 1 (terminated)
//   env 1: A_1 = 6,         A_0 = 1 + 7 = 8 (truncated)
//   env 2: A_1 = 6,         A_0 = 1 + 0 + 6 = 7
TEST(ComputeGae, EnvsAreIndependent) {
  Rollout r(2, 3);
  std::fill(r.rewards.begin(), r.rewards.end(), 1.0f);
  r.next_values = {5, 5, 5};
  r.terminated[0] = true;
  r.truncated[1] = true;
  r.final_values[1] = 7;
  r.Run(1.0f, 1.0f);
  const std::vector<float> expected = {1, 8, 7, 6, 6, 6};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(r.advantages[i], expected[i], kTol) << i;
}

// lam = 0 gives one-step TD errors; gamma = 0 gives r - V.
TEST(ComputeGae, ZeroLambdaAndZeroGamma) {
  Rollout r(2, 1);
  r.values = {1, 2};
  r.next_values = {3};
  r.rewards = {0.5f, 0.25f};
  r.Run(0.9f, 0.0f);
  EXPECT_NEAR(r.advantages[1], 0.25f + 0.9f * 3 - 2, kTol);
  EXPECT_NEAR(r.advantages[0], 0.5f + 0.9f * 2 - 1, kTol);
  r.Run(0.0f, 0.9f);
  EXPECT_NEAR(r.advantages[1], 0.25f - 2, kTol);
  EXPECT_NEAR(r.advantages[0], 0.5f - 1, kTol);
}

// A large rollout takes the multi-threaded path and must agree with column-by-column
// single-env runs (the single-threaded path) exactly.
TEST(ComputeGae, ThreadedMatchesSingleEnvRuns) {
  const int T = 64;
  const int N = static_cast<int>(kGaeParallelThreshold / T) + 37;
  Rollout big(T, N);
  SplitMix64 rng(7);
  auto uniform = [&] { return static_cast<float>(rng.Next() >> 40) / (1 << 24); };
  for (int i = 0; i < T * N; ++i) {
    big.rewards[i] = uniform();
    big.values[i] = uniform();
    big.final_values[i] = uniform();
    big.terminated[i] = uniform() < 0.03f;
    big.truncated[i] = uniform() < 0.03f;
  }
  for (int n = 0; n < N; ++n) big.next_values[n] = uniform();
  big.Run(0.99f, 0.95f);
  for (int n : {0, 1, 15, 16, N / 2, N - 1}) {
    Rollout one(T, 1);
    for (int t = 0; t < T; ++t) {
      const int i = t * N + n;
      one.rewards[t] = big.rewards[i];
      one.values[t] = big.values[i];
      one.final_values[t] = big.final_values[i];
      one.terminated[t] = big.terminated[i];
      one.truncated[t] = big.truncated[i];
    }
    one.next_values[0] = big.next_values[n];
    one.Run(0.99f, 0.95f);
    for (int t = 0; t < T; ++t) {
      ASSERT_EQ(one.advantages[t], big.advantages[t * N + n]) << "t " << t << " n " << n;
      ASSERT_EQ(one.returns[t], big.returns[t * N + n]) << "t " << t << " n " << n;
    }
  }
}

TEST(ComputeGae, EmptyIsANoOp) {
  ComputeGae(0, 4, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0.9f, 0.9f, nullptr,
             nullptr);
  ComputeGae(4, 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0.9f, 0.9f, nullptr,
             nullptr);
}

// splitmix64 from seed 0: the published first outputs (e.g. Vigna's splitmix64.c).
TEST(SplitMix64, KnownValues) {
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.Next(), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(rng.Next(), 0x06C45D188009454FULL);
}

TEST(SplitMix64, BelowStaysInRange) {
  SplitMix64 rng(3);
  for (uint64_t bound : {1ULL, 2ULL, 3ULL, 7ULL, 1000ULL, (1ULL << 63) + 1}) {
    for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.Below(bound), bound);
  }
}

TEST(ShuffledIndices, IsAPermutationAndReproducible) {
  for (int64_t n : {1, 2, 3, 10, 1000}) {
    std::vector<int64_t> a(n), b(n);
    ShuffledIndices(n, 42, a.data());
    ShuffledIndices(n, 42, b.data());
    EXPECT_EQ(a, b);
    std::vector<int64_t> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> iota(n);
    std::iota(iota.begin(), iota.end(), 0);
    EXPECT_EQ(sorted, iota);
  }
  std::vector<int64_t> a(1000), b(1000);
  ShuffledIndices(1000, 1, a.data());
  ShuffledIndices(1000, 2, b.data());
  EXPECT_NE(a, b);
}

// Every element lands in every position about equally often (3! = 6 orders of 3).
TEST(ShuffledIndices, AllOrdersAboutEquallyLikely) {
  std::vector<int> counts(6, 0);
  const int trials = 60000;
  for (int s = 0; s < trials; ++s) {
    int64_t p[3];
    ShuffledIndices(3, static_cast<uint64_t>(s), p);
    counts[p[0] * 2 + (p[1] > p[2] ? 1 : 0)]++;
  }
  for (int c : counts) EXPECT_NEAR(c, trials / 6, 500);
}

}  // namespace
}  // namespace bidir
