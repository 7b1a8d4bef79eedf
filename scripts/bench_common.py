"""What the benchmark scripts share: running a Google Benchmark binary with interleaved
repetitions and comparing two benchmarks by the ratio of their medians. Standard library only."""

import argparse
import json
import os
import statistics
import subprocess
import sys

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_benchmarks(binary, repetitions, extra_args=()):
    """Wall-clock seconds of every repetition by benchmark name, the counters of each benchmark's
    last repetition, and the report's context."""
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build the bench preset first "
                 "(cmake --preset release && cmake --build build/release)")
    out = subprocess.run(
        [binary, "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
         "--benchmark_enable_random_interleaving=true", *extra_args],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    times, counters = {}, {}
    for b in report["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].removesuffix("/real_time")  # UseRealTime() adds it
        times.setdefault(name, []).append(b["real_time"] * TIME_UNITS[b["time_unit"]])
        counters[name] = b
    return times, counters, report["context"]


def ratio_line(label, numerator, denominator, target=None):
    """`label`: the ratio of medians with the range of the per-repetition ratios; a range that
    holds 1.0 is no difference. Returns (line, within target)."""
    ratios = [a / b for a, b in zip(numerator, denominator)]
    ratio = statistics.median(numerator) / statistics.median(denominator)
    low, high = min(ratios), max(ratios)
    verdict = "no difference" if low <= 1.0 <= high else f"{ratio:.3f}x"
    passed = target is None or ratio < target
    mark = "" if target is None else ("  ok" if passed else "  OVER TARGET")
    return (f"  {label:30s} ratio of medians {ratio:.3f} (per-repetition range {low:.3f}-"
            f"{high:.3f}: {verdict}){mark}", passed)


def run_suite(doc, binary_name, title):
    """The command line every benchmark script takes ([BINARY] [--repetitions N], the binary of
    build/release by default), the run, and its header line. Returns (times, counters)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("binary", nargs="?",
                        default=os.path.join(repo, "build", "release", "tests", "bench",
                                             binary_name))
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    times, counters, ctx = run_benchmarks(args.binary, args.repetitions)
    print(f"{title} on {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"{args.repetitions} repetitions (interleaved), wall-clock times")
    return times, counters
