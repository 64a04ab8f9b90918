"""Print the expected values used by test_numpy_rng.cc (run with numpy 2.x to regenerate)."""

import numpy as np

SEEDS = [0, 1, 42, 2**32 - 1, 2**32, 2**40 + 7, 2**64 - 1]
RANGES = [(0, 8), (0, 4), (0, 1), (2, 14), (0, 6), (0, 2**40), (-5, 5)]

for seed in SEEDS:
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    draws = [int(g.integers(lo, hi)) for _ in range(3) for lo, hi in RANGES]
    st = g.bit_generator.state
    print(f"  {{{seed}ULL, {{{', '.join(f'{d}LL' for d in draws)}}},")
    print(f"   0x{st['state']['state'] >> 64:016x}ULL, 0x{st['state']['state'] & (2**64 - 1):016x}ULL,"
          f" {st['has_uint32']}, {st['uinteger']}u}},")
g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7)))
print("  raw:", [f"0x{int(v):016x}ULL" for v in g.bit_generator.random_raw(3)])
print("  double:", repr(float(g.random())))
