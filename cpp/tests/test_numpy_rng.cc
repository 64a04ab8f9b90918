// NumpyRng against values printed by numpy 2.x (cpp/tests/gen_numpy_rng_expected.py).
#include <gtest/gtest.h>

#include <vector>

#include "core/numpy_rng.h"

namespace bidir {
namespace {

struct Case {
  uint64_t seed;
  std::vector<int64_t> draws;
  uint64_t state_hi, state_lo;
  uint32_t has_uint32, uinteger;
};

// For each seed: 3 rounds of integers() over these ranges, then the state.
const int64_t kRanges[][2] = {{0, 8}, {0, 4}, {0, 1}, {2, 14}, {0, 6}, {0, 1LL << 40}, {-5, 5}};

const Case kCases[] = {
  {0ULL, {6LL, 2LL, 0LL, 8LL, 1LL, 45050865998LL, -5LL, 0LL, 0LL, 0LL, 11LL, 3LL, 667003089280LL, 4LL, 7LL, 2LL, 0LL, 9LL, 3LL, 1028123002767LL, -3LL},
   0x2ddce651e6330140ULL, 0xf3e68c69e78967c6ULL, 1, 3504064333u},
  {1ULL, {3LL, 2LL, 0LL, 11LL, 5LL, 158505170440LL, 3LL, 7LL, 0LL, 0LL, 5LL, 5LL, 910068626245LL, -1LL, 2LL, 1LL, 0LL, 9LL, 3LL, 30301565461LL, 3LL},
   0x2934caa57d27fb70ULL, 0xb1c471d321ef2c73ULL, 1, 3236314158u},
  {42ULL, {0LL, 3LL, 0LL, 9LL, 2LL, 944038396526LL, -5LL, 5LL, 0LL, 0LL, 3LL, 3LL, 836881952700LL, 4LL, 5LL, 3LL, 0LL, 8LL, 0LL, 495204575702LL, 0LL},
   0xe4e78b24c84f6511ULL, 0xb65a5219df4f4b31ULL, 1, 1592565387u},
  {4294967295ULL, {1LL, 1LL, 0LL, 10LL, 1LL, 315872890600LL, -3LL, 4LL, 2LL, 0LL, 13LL, 0LL, 572258054104LL, -3LL, 4LL, 1LL, 0LL, 7LL, 4LL, 854269158597LL, 0LL},
   0x2efcdce1a16e50deULL, 0xf51bd8d224a0cd1fULL, 1, 3090906336u},
  {4294967296ULL, {4LL, 3LL, 0LL, 13LL, 3LL, 880607754317LL, -3LL, 7LL, 3LL, 0LL, 2LL, 0LL, 866208672064LL, -3LL, 2LL, 0LL, 0LL, 2LL, 4LL, 680341138933LL, -1LL},
   0xadec7fe6b43d3e73ULL, 0x896c0feef80c3d85ULL, 1, 17401376u},
  {1099511627783ULL, {1LL, 3LL, 0LL, 9LL, 1LL, 169094680324LL, 0LL, 5LL, 3LL, 0LL, 10LL, 0LL, 16931238572LL, -1LL, 5LL, 0LL, 0LL, 10LL, 0LL, 990903554622LL, -2LL},
   0xd8491739cef38d3bULL, 0x499cb0f592267c72ULL, 1, 1453273459u},
  {18446744073709551615ULL, {4LL, 2LL, 0LL, 13LL, 5LL, 8139774299LL, -4LL, 7LL, 2LL, 0LL, 3LL, 1LL, 648133899215LL, -2LL, 0LL, 0LL, 0LL, 5LL, 5LL, 562469545242LL, -5LL},
   0x0b87a76652cea70dULL, 0xcf7613061f02131bULL, 1, 2973527320u},
};

TEST(NumpyRng, IntegersAndStateMatchNumpy) {
  for (const Case& c : kCases) {
    NumpyRng rng(c.seed);
    std::vector<int64_t> got;
    for (int round = 0; round < 3; ++round) {
      for (const auto& r : kRanges) got.push_back(rng.Integers(r[0], r[1]));
    }
    EXPECT_EQ(got, c.draws) << "seed " << c.seed;
    const NumpyRngState s = rng.GetState();
    EXPECT_EQ(s.state_hi, c.state_hi) << "seed " << c.seed;
    EXPECT_EQ(s.state_lo, c.state_lo) << "seed " << c.seed;
    EXPECT_EQ(s.has_uint32, c.has_uint32) << "seed " << c.seed;
    EXPECT_EQ(s.uinteger, c.uinteger) << "seed " << c.seed;
  }
}

TEST(NumpyRng, RawOutputsAndDoubles) {
  NumpyRng rng(7);
  const uint64_t expected[] = {0xa00641a9f1e54a8bULL, 0xe5afcdbcaf266a95ULL, 0xc693565f940af962ULL};
  for (uint64_t e : expected) EXPECT_EQ(rng.NextUint64(), e);
  EXPECT_DOUBLE_EQ(rng.NextDouble(), 0.22520718999059186);
}

TEST(NumpyRng, RangeOfOneDrawsNothing) {
  NumpyRng a(3), b(3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Integers(5, 6), 5);
  EXPECT_EQ(a.NextUint64(), b.NextUint64());
}

TEST(NumpyRng, StateRoundTripContinuesIdentically) {
  NumpyRng a(123);
  a.Integers(0, 8);  // leaves a buffered upper half
  const NumpyRngState s = a.GetState();
  EXPECT_EQ(s.has_uint32, 1u);
  NumpyRng b;
  b.SetState(s);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Integers(0, 13), b.Integers(0, 13));
}

}  // namespace
}  // namespace bidir
