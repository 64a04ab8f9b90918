// numpy's default random generator, bit for bit: Generator(PCG64(SeedSequence(seed))).
//
// gymnasium seeds every env with seeding.np_random(seed), i.e. numpy's SeedSequence ->
// PCG64 -> Generator, and minigrid draws everything with Generator.integers(lo, hi). To
// replay minigrid's episodes exactly we re-implement, from numpy's algorithms:
// * SeedSequence (numpy/random/bit_generator.pyx): the seed is split into 32-bit words
//   (low word first), mixed into a pool of 4 words with hashmix/mix, and
//   generate_state(4, uint64) expands the pool with the INIT_B/MULT_B hash.
// * PCG64 (numpy/random/src/pcg64): 128-bit LCG with XSL-RR output; seeding sets
//   inc = (initseq << 1) | 1, steps, adds initstate, steps. next_uint32 returns the low
//   half of a fresh 64-bit output and buffers the high half for the next call; that
//   buffer is part of the state and survives across episodes.
// * Generator.integers(lo, hi) for int64 (numpy/random/src/distributions): range 0 draws
//   nothing; ranges below 2^32 use Lemire's method on 32-bit draws (with the buffer);
//   larger ranges use Lemire's method on 64-bit draws.
// References: O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically Good
// Algorithms for Random Number Generation" (2014); Lemire, "Fast Random Integer
// Generation in an Interval" (2019).
#ifndef BIDIR_CORE_NUMPY_RNG_H_
#define BIDIR_CORE_NUMPY_RNG_H_

#include <cstdint>

namespace bidir {

// The full state, as numpy's PCG64.state: {'state': {'state', 'inc'}, 'has_uint32',
// 'uinteger'}, with the 128-bit integers split in halves.
struct NumpyRngState {
  uint64_t state_hi = 0, state_lo = 0;
  uint64_t inc_hi = 0, inc_lo = 0;
  uint32_t has_uint32 = 0;
  uint32_t uinteger = 0;
};

class NumpyRng {
 public:
  NumpyRng() : NumpyRng(0) {}
  // Generator(PCG64(SeedSequence(seed))), i.e. gymnasium's seeding.np_random(seed).
  explicit NumpyRng(uint64_t seed) { Seed(seed); }

  // Reseeds as Generator(PCG64(SeedSequence(seed))); clears the buffered half.
  void Seed(uint64_t seed);

  // PCG64 next_uint64 (bit_generator.random_raw()): advance the LCG, then output XSL-RR of
  // the new state, rotr64(hi ^ lo, state >> 122).
  uint64_t NextUint64() {
    state_ = state_ * Multiplier() + inc_;
    const uint64_t hi = static_cast<uint64_t>(state_ >> 64);
    const uint64_t x = hi ^ static_cast<uint64_t>(state_);
    const unsigned rot = static_cast<unsigned>(hi >> 58);
    return (x >> rot) | (x << ((64 - rot) & 63));
  }

  // PCG64 next_uint32: the buffered upper half if one is pending, else the low half of a
  // fresh NextUint64() whose upper half is buffered.
  uint32_t NextUint32() {
    if (has_uint32_) {
      has_uint32_ = 0;
      return uinteger_;
    }
    const uint64_t next = NextUint64();
    has_uint32_ = 1;
    uinteger_ = static_cast<uint32_t>(next >> 32);
    return static_cast<uint32_t>(next);
  }

  // Generator.random(): (next_uint64 >> 11) * 2^-53, a double in [0, 1). Draws 64 bits
  // and leaves the buffered 32-bit half alone, as numpy does.
  double NextDouble() {
    return static_cast<double>(NextUint64() >> 11) * (1.0 / 9007199254740992.0);
  }

  // Generator.uniform(lo, hi): lo + (hi - lo) * random(), rounded after the product as in
  // numpy's random_uniform. The volatile keeps the compiler from fusing the multiply-add
  // into an FMA (e.g. under -march=native), which would round once and change the bits.
  // Unlike numpy, it does not reject a non-finite hi - lo.
  double Uniform(double lo, double hi) {
    const volatile double scaled = (hi - lo) * NextDouble();
    return lo + scaled;
  }

  // Generator.integers(lo, hi) with the default int64 dtype: uniform on [lo, hi); requires
  // hi > lo. As numpy's random_bounded_uint64_fill (use_masked=False) with rng = hi - lo - 1:
  // rng == 0 returns lo and draws nothing; rng < 2^32 - 1 uses Lemire on NextUint32()
  // (buffered halves); rng == 2^32 - 1 returns lo + NextUint32(); larger ranges use Lemire
  // on NextUint64(), which does not touch the buffered half.
  int64_t Integers(int64_t lo, int64_t hi) {
    const uint64_t rng = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) - 1;
    if (rng == 0) return lo;
    if (rng <= 0xFFFFFFFFULL) {
      if (rng == 0xFFFFFFFFULL) return lo + static_cast<int64_t>(NextUint32());
      return lo + static_cast<int64_t>(BoundedLemire32(static_cast<uint32_t>(rng)));
    }
    // numpy's full 64-bit branch; unreachable from an int64 [lo, hi), kept for fidelity.
    if (rng == ~0ULL) return static_cast<int64_t>(static_cast<uint64_t>(lo) + NextUint64());
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + BoundedLemire64(rng));
  }

  // numpy's bit_generator.state: state/inc split into 64-bit halves, has_uint32, uinteger.
  NumpyRngState GetState() const {
    NumpyRngState s;
    s.state_hi = static_cast<uint64_t>(state_ >> 64);
    s.state_lo = static_cast<uint64_t>(state_);
    s.inc_hi = static_cast<uint64_t>(inc_ >> 64);
    s.inc_lo = static_cast<uint64_t>(inc_);
    s.has_uint32 = has_uint32_;
    s.uinteger = uinteger_;
    return s;
  }
  void SetState(const NumpyRngState& s) {
    state_ = (static_cast<u128>(s.state_hi) << 64) | s.state_lo;
    inc_ = (static_cast<u128>(s.inc_hi) << 64) | s.inc_lo;
    has_uint32_ = s.has_uint32;
    uinteger_ = s.uinteger;
  }

 private:
  using u128 = unsigned __int128;
  static constexpr u128 Multiplier() {
    return (static_cast<u128>(0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL;
  }

  // Lemire's bounded draw on 32-bit outputs: uniform on [0, rng].
  uint32_t BoundedLemire32(uint32_t rng) {
    const uint64_t rng_excl = static_cast<uint64_t>(rng) + 1;
    uint64_t m = static_cast<uint64_t>(NextUint32()) * rng_excl;
    uint32_t leftover = static_cast<uint32_t>(m);
    if (leftover < rng_excl) {
      const uint32_t threshold = static_cast<uint32_t>((0x100000000ULL - rng_excl) % rng_excl);
      while (leftover < threshold) {
        m = static_cast<uint64_t>(NextUint32()) * rng_excl;
        leftover = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  // Lemire's bounded draw on 64-bit outputs: uniform on [0, rng], rng < 2^64 - 1.
  uint64_t BoundedLemire64(uint64_t rng) {
    const uint64_t rng_excl = rng + 1;
    u128 m = static_cast<u128>(NextUint64()) * rng_excl;
    uint64_t leftover = static_cast<uint64_t>(m);
    if (leftover < rng_excl) {
      const uint64_t threshold = (0 - rng_excl) % rng_excl;
      while (leftover < threshold) {
        m = static_cast<u128>(NextUint64()) * rng_excl;
        leftover = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  u128 state_ = 0;
  u128 inc_ = 0;
  uint32_t has_uint32_ = 0;
  uint32_t uinteger_ = 0;
};

}  // namespace bidir

#endif  // BIDIR_CORE_NUMPY_RNG_H_
