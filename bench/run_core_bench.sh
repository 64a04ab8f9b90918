#!/usr/bin/env bash
# Builds the C++ microbenchmarks (bench/core_bench.cc, Google Benchmark) and runs them:
# the JSON goes to bench/results/core_bench.json (or $BENCH_JSON), the markdown tables of
# bench/README.md to stdout. Extra arguments go to core_bench, e.g.
#   bench/run_core_bench.sh --tasks=all --benchmark_filter='^Step/'
# Needs CMake, Ninja, a C++17 compiler and Google Benchmark (Debian: libbenchmark-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
JSON=${BENCH_JSON:-bench/results/core_bench.json}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBIDIR_BUILD_BENCH=ON \
  -DBIDIR_BUILD_PYTHON=OFF >/dev/null
cmake --build "$BUILD" --target core_bench
mkdir -p "$(dirname "$JSON")"
# Median of 3 repetitions of each benchmark; only the aggregates are kept.
"$BUILD/core_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$JSON" --benchmark_out_format=json "$@" >&2
python3 bench/core_bench_table.py "$JSON"
