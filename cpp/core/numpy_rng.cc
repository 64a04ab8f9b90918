#include "core/numpy_rng.h"

namespace bidir {
namespace {

// Constants of numpy's SeedSequence (bit_generator.pyx).
constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;
constexpr int kPoolSize = 4;

uint32_t HashMix(uint32_t value, uint32_t* hash_const) {
  value ^= *hash_const;
  *hash_const *= kMultA;
  value *= *hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t Mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

}  // namespace

void NumpyRng::Seed(uint64_t seed) {
  // SeedSequence(seed).entropy as 32-bit words, low word first; 0 gives [0].
  uint32_t entropy[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const int num_words = (seed >> 32) != 0 ? 2 : 1;

  // mix_entropy: the pool has 4 words, more than our at most 2 words of entropy.
  uint32_t pool[kPoolSize];
  uint32_t hash_const = kInitA;
  for (int i = 0; i < kPoolSize; ++i) {
    pool[i] = HashMix(i < num_words ? entropy[i] : 0, &hash_const);
  }
  for (int src = 0; src < kPoolSize; ++src) {
    for (int dst = 0; dst < kPoolSize; ++dst) {
      if (src != dst) pool[dst] = Mix(pool[dst], HashMix(pool[src], &hash_const));
    }
  }

  // generate_state(4, uint64): 8 32-bit words, paired little-endian into 4 uint64.
  uint32_t words[8];
  uint32_t hash_b = kInitB;
  for (int i = 0; i < 8; ++i) {
    uint32_t v = pool[i % kPoolSize];
    v ^= hash_b;
    hash_b *= kMultB;
    v *= hash_b;
    v ^= v >> kXShift;
    words[i] = v;
  }
  uint64_t w[4];
  for (int i = 0; i < 4; ++i) {
    w[i] = static_cast<uint64_t>(words[2 * i]) | (static_cast<uint64_t>(words[2 * i + 1]) << 32);
  }

  // pcg64_set_seed: initstate = (w0 << 64) | w1, initseq = (w2 << 64) | w3.
  const u128 initstate = (static_cast<u128>(w[0]) << 64) | w[1];
  const u128 initseq = (static_cast<u128>(w[2]) << 64) | w[3];
  state_ = 0;
  inc_ = (initseq << 1) | 1;
  state_ = state_ * Multiplier() + inc_;
  state_ += initstate;
  state_ = state_ * Multiplier() + inc_;
  has_uint32_ = 0;
  uinteger_ = 0;
}

}  // namespace bidir
