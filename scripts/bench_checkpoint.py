#!/usr/bin/env python3
"""Runs the checkpoint benchmarks and prints their ratios from one interleaved run.

  load     one MoE layer (64 experts, H 1024, F 512, bf16 on disk) loaded into the previous
           layer's memory, over a plain sequential read(2) of the same file (target < 1.5);
  first    the first layer of a run (new memory) over the same read, for reference;
  memory   the peak resident memory of a first load over the layer's fp32 bytes (target < 1.5);
  layer    the CPU layer (T = 256, fp32 and bf16 experts) with the checkpoint's weights over the
           same shapes with synthetic weights (target: no difference).
The files come from the page cache (the benchmark reads them before timing).

  scripts/bench_checkpoint.py [build/release/tests/bench/checkpoint_bench] [--repetitions N]
Standard library only.
"""

import sys

from bench_common import ratio_line, run_suite


def main():
    times, counters = run_suite(__doc__, "checkpoint_bench", "checkpoint benchmarks")
    ok = True
    read = times["BM_SequentialRead"]
    for label, name, target in (("load (reused memory)", "BM_LoadLayer", 1.5),
                                ("first load (new memory)", "BM_LoadFirstLayer", None)):
        line, passed = ratio_line(label, times[name], read, target)
        ok = ok and passed
        print(line)
    peak = counters["BM_LoadFirstLayer"]["peak_over_fp32_layer"]
    print(f"  {'peak memory / fp32 layer':30s} {peak:.3f}  {'ok' if peak < 1.5 else 'OVER TARGET'}")
    ok = ok and peak < 1.5
    for precision in ("fp32", "bf16"):
        line, _ = ratio_line(f"CPU layer {precision}", times[f"BM_CpuLayer/checkpoint_{precision}"],
                             times[f"BM_CpuLayer/synthetic_{precision}"])
        print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
