#!/usr/bin/env python3
"""How far MoEScope's numbers can be trusted on this machine, measured side by side.

  stability  the same comparison run N times (default 5): the spread of each policy's speedup
             over the runs, as (max - min) / median, and each run's own 95% interval width
             relative to its speedup (target: the interval under 10% of the speedup);
  model      the modeled timeline against the composed one on the same runs: the mean absolute
             error of the modeled layer latency, relative to the composed one, per layer;
  cost       the wall time of the comparison, median over the runs.

With --before BINARY (an earlier moescope-cli, e.g. one built from the release before the
measurement protocol), the same comparison is run with it, interleaved run by run, and both
are printed side by side. Standard library only.

  scripts/bench_trust.py [--cli build/release/app/cli/moescope-cli] [--before OLD_CLI]
      [--runs 5] [--repeats N] [--preset olmoe-1b-7b --scale 8 --tokens 2048]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CLI = os.path.join(REPO, "build", "release", "app", "cli", "moescope-cli")


def run_once(cli, model_args, session, env, modeled, repeats=None):
    command = [cli, "run", *model_args, "--compare", "--backend", "cpu", "--format", "json",
               "--session", session]
    if repeats:
        command += ["--repeats", str(repeats)]
    if modeled:
        command += ["--timing", "modeled"]
    start = time.monotonic()
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out), time.monotonic() - start


def speedups(result):
    return {p["label"]: p["summary"]["speedup"] for p in result["policies"][1:]}


def intervals(result):
    out = {}
    for p in result["policies"][1:]:
        interval = p["summary"].get("speedup_interval")
        if interval:
            out[p["label"]] = (interval[1] - interval[0]) / p["summary"]["speedup"]
    return out


def model_error(result):
    """Mean |modeled - composed| / composed over every layer of every policy."""
    errors = []
    for p in result["policies"]:
        for layer in p.get("layers", []):
            composed, modeled = layer.get("composed_latency_ns"), layer.get("modeled_latency_ns")
            if composed and modeled is not None:
                errors.append(abs(modeled - composed) / composed)
    return statistics.mean(errors) if errors else None


def spread(values):
    return (max(values) - min(values)) / statistics.median(values)


def report(name, results, times):
    print(f"\n{name}: {len(results)} runs, wall time median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f})")
    labels = list(speedups(results[0]).keys())
    print(f"  {'policy':<26} {'speedups over the runs':<40} {'spread':>8} {'own 95% interval':>17}")
    for label in labels:
        values = [speedups(r)[label] for r in results]
        own = [intervals(r).get(label) for r in results]
        own_text = (f"{100 * statistics.median([o for o in own if o is not None]):.1f}% of it"
                    if any(o is not None for o in own) else "none")
        print(f"  {label:<26} {' '.join(f'{v:.2f}' for v in values):<40} "
              f"{100 * spread(values):7.1f}% {own_text:>17}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", default=DEFAULT_CLI)
    parser.add_argument("--before", help="an earlier moescope-cli to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeats", type=int, help="--repeats of the runs (default: the CLI's)")
    parser.add_argument("--preset", default="olmoe-1b-7b")
    parser.add_argument("--scale", default="8")
    parser.add_argument("--tokens", default="2048")
    args = parser.parse_args()
    model_args = ["--preset", args.preset, "--scale", args.scale, "--tokens", args.tokens]
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, XDG_DATA_HOME=work)
        subprocess.run([args.cli, "calibrate", *model_args, "--backend", "cpu"], check=True,
                       capture_output=True, env=env)
        now, now_times, before, before_times = [], [], [], []
        for i in range(args.runs):
            if args.before:
                result, seconds = run_once(args.before, model_args,
                                           os.path.join(work, f"before{i}.moescope"), env, False)
                before.append(result)
                before_times.append(seconds)
            result, seconds = run_once(args.cli, model_args, os.path.join(work, f"now{i}.moescope"),
                                       env, False, args.repeats)
            now.append(result)
            now_times.append(seconds)
        print(f"{' '.join(model_args)} --compare, CPU backend: {now[0]['backend_detail']}")
        if before:
            report("before (" + args.before + ")", before, before_times)
        report("now (" + args.cli + f", {now[0]['repeats']} repeats)", now, now_times)
        errors = [e for e in (model_error(r) for r in now) if e is not None]
        if errors:
            print(f"\nmodeled against composed layer latency: mean absolute error "
                  f"{100 * statistics.median(errors):.1f}% (median over the runs; min "
                  f"{100 * min(errors):.1f}%, max {100 * max(errors):.1f}%)")
        if before_times:
            print(f"\ncost of the protocol: {statistics.median(now_times):.1f} s against "
                  f"{statistics.median(before_times):.1f} s "
                  f"({statistics.median(now_times) / statistics.median(before_times):.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
