#!/usr/bin/env bash
# Builds the benchmark package in release mode and prints every workload: Docket's figure,
# each baseline's, and the ratio, all measured in one process.
#   Benchmarks/compare.sh            the table in Benchmarks/README.md
#   Benchmarks/compare.sh --full     adds the 10-million-operation scale run
#   Benchmarks/compare.sh --smoke    every workload at a tiny size (CI)
#   Benchmarks/compare.sh 1 6        only workloads 1 and 6
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product Compare 1>&2
exec .build/release/Compare "$@"
