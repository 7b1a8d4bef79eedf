#!/usr/bin/env python3
"""Runs the replica benchmarks and checks their two targets from the numbers of one run.

  plan     the EPLB plans of 61 MoE layers of 256 experts take under 10 ms (each algorithm,
           32 redundant slots on 32 devices and 64 on 64), median and range over repetitions;
  assign   route() + drop + assign_replicas() over route() + drop, per layer (T = 4096, E = 256,
           k = 8, D = 64): under 1.05. Both sides run interleaved in one process; the ratio of
           medians is printed with the range of the per-repetition ratios, and a range that
           contains 1.0 is reported as no difference.

  scripts/bench_replicas.py [build/release/tests/bench/replica_bench] [--repetitions N]
Standard library only.
"""

import statistics
import sys

from bench_common import ratio_line, run_suite

PLAN_TARGET_MS = 10.0
ASSIGN_TARGET = 1.05


def main():
    times, _ = run_suite(__doc__, "replica_bench", "replica benchmarks")
    ok = True
    print("\nplans of 61 layers x 256 experts (target < 10 ms):")
    for name, values in sorted(times.items()):
        if not name.startswith("BM_PlanReplicas/"):
            continue
        ms = [v * 1e3 for v in values]
        median = statistics.median(ms)
        passed = median < PLAN_TARGET_MS
        ok = ok and passed
        print(f"  {name:36s} median {median:6.2f} ms  range {min(ms):.2f}-{max(ms):.2f} ms  "
              f"{'ok' if passed else 'OVER TARGET'}")
    base = times.get("BM_Drop", [])
    print("\nreplica choice over the drop policy alone, per layer (target < 1.05):")
    for choice in ("round_robin", "local_first"):
        with_assign = times.get(f"BM_DropAndAssign/{choice}", [])
        if not base or not with_assign:
            continue
        line, passed = ratio_line(choice, with_assign, base, ASSIGN_TARGET)
        ok = ok and passed
        print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
