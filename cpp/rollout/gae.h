// Generalized advantage estimation (GAE) and minibatch permutations over rollout buffers
// that the caller owns. No Python headers; the bindings live in bindings/bind_rollout.cc.
//
// Buffers are C-contiguous (T, N) arrays, T steps by N envs, row t holding step t of
// every env. Transition (t, n) went from s_t to s_{t+1} of env n with reward
// rewards[t, n]. With same-step autoreset, s_{t+1} after an episode end is already the
// next episode's first observation, so the end needs its own bootstrap value:
//
// | terminated | truncated | bootstrap value b_t    | GAE flows from t+1 |
// |------------|-----------|------------------------|--------------------|
// | false      | false     | values[t+1, n] (*)     | yes                |
// | false      | true      | final_values[t, n]     | no                 |
// | true       | any       | none (0)               | no                 |
//
// (*) next_values[n] at t = T-1. Then
//   delta_t = r_t + gamma * b_t - values[t, n]
//   A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1},  done_t = term || trunc
//   returns = A + values.
// This is CleanRL's loop with the time-limit truncation handled correctly (CleanRL treats
// a truncation as a termination, dropping the bootstrap).
//
// References: Schulman et al., "High-Dimensional Continuous Control Using Generalized
// Advantage Estimation", 2015; Pardo et al., "Time Limits in Reinforcement Learning", 2018.
#ifndef BIDIR_ROLLOUT_GAE_H_
#define BIDIR_ROLLOUT_GAE_H_

#include <cstdint>

namespace bidir {

// Writes advantages and returns, both (T, N), from the (T, N) inputs rewards, values,
// terminated, truncated, final_values and the (N,) next_values; see the table above.
// final_values[t, n] is read only where truncated && !terminated, so other entries may
// hold anything (NaN included). The recursion is accumulated in double and rounded to
// float once per output. Outputs must not overlap the inputs. Single-threaded unless
// T * N >= kGaeParallelThreshold, then split over env columns; results do not depend
// on the thread count.
void ComputeGae(int T, int N, const float* rewards, const float* values, const bool* terminated,
                const bool* truncated, const float* final_values, const float* next_values,
                float gamma, float lam, float* advantages, float* returns);

// T * N from which ComputeGae uses more than one thread.
inline constexpr int64_t kGaeParallelThreshold = int64_t{1} << 22;

// The 64-bit generator behind ShuffledIndices: splitmix64 (Steele, Lea and Flood, 2014;
// the seeding generator of xoshiro). state starts at the seed; each call does
//   state += 0x9E3779B97F4A7C15;  z = state;
//   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//   return z ^ (z >> 31);
// all modulo 2^64, so every platform draws the same numbers.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound) for bound >= 1, unbiased: draws r until r >= (2^64 - bound) %
  // bound, then returns r % bound.
  uint64_t Below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const uint64_t r = Next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  uint64_t state_;
};

// Writes a permutation of 0..n-1 into out[0..n), determined by seed alone: out starts
// as the identity, then for i = n-1 down to 1, out[i] is swapped with out[j] where
// j = rng.Below(i + 1) and rng = SplitMix64(seed) (Fisher-Yates, Durstenfeld's form).
// Does nothing for n <= 0.
void ShuffledIndices(int64_t n, uint64_t seed, int64_t* out);

}  // namespace bidir

#endif  // BIDIR_ROLLOUT_GAE_H_
