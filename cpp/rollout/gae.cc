// GAE over (T, N) buffers and seeded permutations; see gae.h.
#include "rollout/gae.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

namespace bidir {
namespace {

uint32_t Bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return b;
}

float FromBits(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof(x));
  return x;
}

// GAE for env columns [n0, n1). carry[n - n0] holds A_{t+1} of env n. Rows are walked
// backwards and each row's columns contiguously, so the inner loop vectorises.
void GaeColumns(int T, int N, int n0, int n1, const float* __restrict rewards,
                const float* __restrict values, const bool* __restrict terminated,
                const bool* __restrict truncated, const float* __restrict final_values,
                const float* __restrict next_values, double gamma, double lam,
                float* __restrict advantages, float* __restrict returns, double* __restrict carry) {
  const double gl = gamma * lam;
  const int width = n1 - n0;
  std::fill(carry, carry + width, 0.0);
  for (int t = T - 1; t >= 0; --t) {
    const size_t row = static_cast<size_t>(t) * N + n0;
    const float* next_row = (t == T - 1) ? next_values + n0 : values + row + N;
    const float* r = rewards + row;
    const float* v = values + row;
    // Read as bytes (GCC does not vectorise bool loads); any non-zero byte is true.
    const auto* term = reinterpret_cast<const unsigned char*>(terminated + row);
    const auto* trunc = reinterpret_cast<const unsigned char*>(truncated + row);
    const float* fin = final_values + row;
    float* adv = advantages + row;
    float* ret = returns + row;
    for (int k = 0; k < width; ++k) {
      // Branch-free so the loop vectorises: the bootstrap is chosen by masking float bits
      // (a NaN in an unused final_values entry is masked away, not multiplied by 0).
      const uint32_t te = std::min<uint32_t>(term[k], 1u);
      const uint32_t tr = std::min<uint32_t>(trunc[k], 1u);
      const uint32_t use_final = 0u - (tr & (te ^ 1u));
      const uint32_t use_next = 0u - ((tr | te) ^ 1u);
      const uint32_t boot_bits = (Bits(fin[k]) & use_final) | (Bits(next_row[k]) & use_next);
      const double boot = FromBits(boot_bits);
      const double keep = static_cast<double>(static_cast<int32_t>((te | tr) ^ 1u));
      const double vk = v[k];
      const double delta = static_cast<double>(r[k]) + gamma * boot - vk;
      const double a = delta + keep * gl * carry[k];
      carry[k] = a;
      adv[k] = static_cast<float>(a);
      ret[k] = static_cast<float>(a + vk);
    }
  }
}

}  // namespace

void ComputeGae(int T, int N, const float* rewards, const float* values, const bool* terminated,
                const bool* truncated, const float* final_values, const float* next_values,
                float gamma, float lam, float* advantages, float* returns) {
  if (T <= 0 || N <= 0) return;
  const int64_t total = static_cast<int64_t>(T) * N;
  // Column blocks of 16 floats (a 64-byte cache line) so threads share no output line.
  constexpr int kBlock = 16;
  int threads = 1;
  if (total >= kGaeParallelThreshold) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    threads = std::min({std::max(hw, 1), 8, (N + kBlock - 1) / kBlock});
  }
  std::vector<double> carry(static_cast<size_t>(N));
  auto run = [&](int n0, int n1) {
    GaeColumns(T, N, n0, n1, rewards, values, terminated, truncated, final_values, next_values,
               gamma, lam, advantages, returns, carry.data() + n0);
  };
  if (threads <= 1) {
    run(0, N);
    return;
  }
  const int blocks = (N + kBlock - 1) / kBlock;
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads - 1));
  auto bounds = [&](int i) {
    return std::make_pair(std::min(N, blocks * i / threads * kBlock),
                          std::min(N, blocks * (i + 1) / threads * kBlock));
  };
  for (int i = 1; i < threads; ++i) {
    const auto b = bounds(i);
    workers.emplace_back(run, b.first, b.second);
  }
  const auto b0 = bounds(0);
  run(b0.first, b0.second);
  for (auto& w : workers) w.join();
}

void ShuffledIndices(int64_t n, uint64_t seed, int64_t* out) {
  if (n <= 0) return;
  for (int64_t i = 0; i < n; ++i) out[i] = i;
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(i) + 1));
    std::swap(out[i], out[j]);
  }
}

}  // namespace bidir
