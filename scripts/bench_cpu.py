#!/usr/bin/env python3
"""Runs the CPU benchmark suite once and prints ratios measured side by side in that run.

Absolute numbers on a shared 2-core machine move from run to run; ratios of benchmarks run in
the same process, minutes apart, move much less. Three targets are checked:

  compute  the MoE layer reaches >= 70% (T = 2048) and >= 50% (T = 256) of the GFLOP/s of one
           dense product of the same FLOPs (M = T * k, K = H, N = 3F) through the same library
           (oneDNN) in the same precision, fp32 and, where the CPU has BF16 instructions, bf16;
  memory   at T = 16, the layer takes <= 1.5x the bandwidth floor: the bytes of the weights of
           the experts actually touched (distinct experts with rows > 0, 3 * H * F * 4 bytes
           each in fp32, half in bf16) over the memcpy bandwidth, counted as read + write
           (2 * bytes / time);
  routing  route() + apply_policy() at T = 16384 take < 5% of that T's expert compute,
           estimated as the policy's kept-pair FLOPs over the layer's GFLOP/s at T = 2048.

The dense product through OpenBLAS is printed beside oneDNN's, the evidence for the library
choice. With --torch, also runs tests/bench/torch_moe_peer.py (the same layer written the Hugging
Face way in PyTorch), in fp32 and bf16, and prints our-layer-time / torch-time at each T (target
at most 1.0).

With --against-kernels NAME, runs only the layer and the dense sgemm, alternately with the kernels
MoEScope chooses and with OpenBLAS's NAME kernels (MOESCOPE_BLAS_KERNELS=NAME; Prescott is the
generic fallback Debian 12's OpenBLAS picks on CPUs newer than itself), and prints the ratios
round by round. Standard library only.

  scripts/bench_cpu.py [build/bench/tests/bench/moe_bench] [--torch] [--repetitions N]
  scripts/bench_cpu.py [moe_bench] --against-kernels Prescott [--rounds N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(REPO, "build", "bench", "tests", "bench", "moe_bench")
TORCH_PEER = os.path.join(REPO, "tests", "bench", "torch_moe_peer.py")
LAYER_TOKENS = (16, 256, 2048)

EFFICIENCY_TARGETS = {2048: 0.70, 256: 0.50}  # layer / dense GFLOP/s, at least
FLOOR_TARGET = 1.5  # layer time / memory floor at T = 16, at most
TORCH_TARGET = 1.0  # our layer time / PyTorch's, at most
ROUTING_TARGET = 0.05  # router + policy / expert compute at T = 16384, below

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_benchmarks(binary, repetitions, extra,
                   pattern="^BM_(MoeLayer|MoeLayerBf16|DenseGemm|DenseGemmBf16|DenseSgemmOpenBlas|"
                           "Memcpy|MemoryRead|RouterPolicy)/", env=None):
    command = [
        binary,
        "--benchmark_format=json",
        "--benchmark_filter=" + pattern,
    ]
    if repetitions > 1:
        command += [
            f"--benchmark_repetitions={repetitions}",
            "--benchmark_report_aggregates_only=true",
        ]
    command += extra
    print("running: " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(result.stdout)


def index_results(report):
    """run_name -> the median of the repetitions (or the single run), with seconds added."""
    runs = {}
    for b in report["benchmarks"]:
        aggregate = b.get("run_type") == "aggregate"
        if aggregate and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        if name in runs and not aggregate:
            continue
        b = dict(b)
        b["seconds"] = b["real_time"] * TIME_UNITS[b["time_unit"]]
        runs[name] = b
    return runs


def find(runs, name):
    if name not in runs:
        sys.exit(f"bench_cpu.py: the benchmark output has no '{name}'")
    return runs[name]


def verdict(ok):
    return "PASS" if ok else "MISS"


def run_torch(python, tokens, dtype):
    command = [python, TORCH_PEER, "--tokens", ",".join(str(t) for t in tokens), "--dtype", dtype]
    print("running: " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {r["tokens"]: r for r in rows}


def compare_kernels(binary, other, rounds, extra):
    """Layer and sgemm times with MoEScope's kernels and with `other`, alternating, per round."""
    pattern = "^BM_(MoeLayer|DenseGemm)/"
    times = {"chosen": {}, "other": {}}
    names = {}
    for round_index in range(rounds):
        for which in ("chosen", "other"):
            env = dict(os.environ)
            env.pop("MOESCOPE_BLAS_KERNELS", None)
            if which == "other":
                env["MOESCOPE_BLAS_KERNELS"] = other
            report = run_benchmarks(binary, 1, extra, pattern, env)
            ctx = report.get("context", {})
            names[which] = (f"{ctx.get('openblas_core', '?')} "
                            f"({ctx.get('openblas_core_reason', '?')})")
            for name, b in index_results(report).items():
                times[which].setdefault(name, []).append(b["seconds"])
    print(f"moe_bench: {rounds} rounds, each running both kernel sets one after the other")
    print(f"  A: {names['chosen']}")
    print(f"  B: {names['other']}")
    print()
    print(f"  {'benchmark':<32} {'A ms (median)':>14} {'B ms (median)':>14} "
          f"{'B / A median':>12} {'B / A range':>15}")
    for name in sorted(times["chosen"], key=lambda n: (n.split("/")[0], int(n.split(":")[1].split("/")[0]))):
        a = times["chosen"][name]
        b = times["other"].get(name)
        if not b:
            continue
        ratios = sorted(y / x for x, y in zip(a, b))
        low, high = ratios[0], ratios[-1]
        verdict_text = "no difference" if low <= 1.0 <= high else ("A faster" if low > 1 else "B faster")
        print(f"  {name:<32} {statistics.median(a) * 1e3:>14.1f} {statistics.median(b) * 1e3:>14.1f} "
              f"{statistics.median(ratios):>12.2f} {low:>7.2f}-{high:<7.2f} {verdict_text}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=DEFAULT_BINARY, help="the moe_bench binary")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="repetitions of each benchmark; the median is used (default 3)")
    parser.add_argument("--torch", action="store_true",
                        help="also run the PyTorch peer and print our-time / torch-time")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the peer")
    parser.add_argument("--json-out", help="save the benchmark JSON (and the peer's) here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--benchmark-arg", action="append", default=[],
                        help="extra argument for moe_bench, e.g. --benchmark_min_time=1")
    parser.add_argument("--against-kernels", metavar="NAME",
                        help="compare MoEScope's kernel choice with OpenBLAS's NAME kernels")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the --against-kernels comparison (default 3)")
    args = parser.parse_args()

    if args.against_kernels:
        return compare_kernels(args.binary, args.against_kernels, args.rounds, args.benchmark_arg)

    report = run_benchmarks(args.binary, args.repetitions, args.benchmark_arg)
    runs = index_results(report)
    ctx = report.get("context", {})
    print(f"moe_bench on {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"OpenBLAS {ctx.get('openblas_core', '?')} ({ctx.get('openblas_core_reason', '?')}) with "
          f"{ctx.get('openblas_threads', '?')} threads, median of {args.repetitions} repetition(s), wall-clock times")
    misses = []

    # Memory bandwidth.
    memcpy = find(runs, "BM_Memcpy/real_time")
    copy_bandwidth = 2.0 * memcpy["copy_bytes"] / memcpy["seconds"]
    read = runs.get("BM_MemoryRead/threads:2/real_time")
    print()
    print("Memory bandwidth")
    print(f"  memcpy of 1 GiB: {memcpy['seconds'] * 1e3:.1f} ms -> {copy_bandwidth / 1e9:.1f} GB/s "
          "(convention: read + write, 2 x bytes / time)")
    if read is not None:
        print(f"  read-only stream of 1 GiB, 2 threads: {read['seconds'] * 1e3:.1f} ms -> "
              f"{read['read_bytes'] / read['seconds'] / 1e9:.1f} GB/s (for reference)")

    # Compute efficiency, per precision.
    precisions = [("fp32", "BM_MoeLayer", "BM_DenseGemm", 4)]
    if "BM_MoeLayerBf16/T:16/real_time" in runs:
        precisions.append(("bf16", "BM_MoeLayerBf16", "BM_DenseGemmBf16", 2))
    else:
        print()
        print("bf16: not measured (this CPU has no AVX-512 BF16 instructions)")
    layers = {}
    for precision, layer_name, dense_name, weight_bytes in precisions:
        print()
        print(f"Compute, {precision}: MoE layer vs one dense product of the same FLOPs "
              f"(M = T*k, K = H, N = 3F), both through oneDNN ({ctx.get('onednn_' + precision, '?')}, "
              f"{ctx.get('onednn_threads', '?')} threads)")
        print(f"  {'T':>5} {'rows':>6} {'experts':>7} {'layer ms':>9} {'layer GF/s':>10} "
              f"{'dense ms':>9} {'dense GF/s':>10} {'efficiency':>10}  target")
        for tokens in LAYER_TOKENS:
            layer = find(runs, f"{layer_name}/T:{tokens}/real_time")
            gemm = find(runs, f"{dense_name}/T:{tokens}/real_time")
            layers[(precision, tokens)] = layer
            efficiency = layer["GFLOP/s"] / gemm["GFLOP/s"]
            target = ""
            if tokens in EFFICIENCY_TARGETS:
                goal = EFFICIENCY_TARGETS[tokens]
                ok = efficiency >= goal
                target = f">= {goal:.0%} {verdict(ok)}"
                if not ok:
                    misses.append(f"{precision} compute efficiency at T={tokens} is {efficiency:.1%}")
            print(f"  {tokens:>5} {int(layer['rows']):>6} {int(layer['experts_touched']):>7} "
                  f"{layer['seconds'] * 1e3:>9.1f} {layer['GFLOP/s']:>10.1f} "
                  f"{gemm['seconds'] * 1e3:>9.1f} {gemm['GFLOP/s']:>10.1f} {efficiency:>10.1%}  "
                  f"{target}")

        # Memory floor at T = 16.
        small = layers[(precision, 16)]
        floor = small["touched_weight_bytes"] / copy_bandwidth
        floor_ratio = small["seconds"] / floor
        ok = floor_ratio <= FLOOR_TARGET
        if not ok:
            misses.append(f"the {precision} T=16 layer takes {floor_ratio:.2f}x its memory floor")
        print(f"  T=16 against the bandwidth floor of the weights it touches: "
              f"{int(small['experts_touched'])} experts x "
              f"{small['touched_weight_bytes'] / small['experts_touched'] / 1e6:.1f} MB = "
              f"{small['touched_weight_bytes'] / 1e6:.0f} MB / {copy_bandwidth / 1e9:.1f} GB/s = "
              f"{floor * 1e3:.1f} ms; layer {small['seconds'] * 1e3:.1f} ms = {floor_ratio:.2f}x  "
              f"target <= {FLOOR_TARGET}x {verdict(ok)}")
        if read is not None:
            read_floor = small["touched_weight_bytes"] / (read["read_bytes"] / read["seconds"])
            print(f"  (against the read-only stream: floor {read_floor * 1e3:.1f} ms, "
                  f"{small['seconds'] / read_floor:.2f}x)")

    # The library choice: the same dense fp32 product through OpenBLAS.
    print()
    print(f"Library: the dense fp32 product through oneDNN and through OpenBLAS "
          f"({ctx.get('openblas_core', '?')} kernels, {ctx.get('openblas_core_reason', '?')})")
    print(f"  {'T':>5} {'oneDNN ms':>10} {'OpenBLAS ms':>12} {'OpenBLAS/oneDNN':>16}")
    for tokens in LAYER_TOKENS:
        ours = find(runs, f"BM_DenseGemm/T:{tokens}/real_time")
        other = runs.get(f"BM_DenseSgemmOpenBlas/T:{tokens}/real_time")
        if other is None:
            continue
        print(f"  {tokens:>5} {ours['seconds'] * 1e3:>10.1f} {other['seconds'] * 1e3:>12.1f} "
              f"{other['seconds'] / ours['seconds']:>16.2f}")

    # Router + policy vs expert compute at T = 16384.
    big = layers[("fp32", 2048)]
    print()
    print(f"Routing: route() + apply_policy() at T=16384 vs that T's expert compute, estimated at "
          f"the T=2048 layer's {big['GFLOP/s']:.1f} GFLOP/s")
    print(f"  {'policy':<24} {'ms':>8} {'kept pairs':>10} {'compute s':>10} {'ratio':>8}  target")
    for policy in ("none", "drop", "expanded", "reroute"):
        r = find(runs, f"BM_RouterPolicy/{policy}/real_time")
        compute = r["expert_flops"] / (big["GFLOP/s"] * 1e9)
        ratio = r["seconds"] / compute
        ok = ratio < ROUTING_TARGET
        if not ok:
            misses.append(f"router + {policy} take {ratio:.1%} of the expert compute")
        print(f"  {r.get('label', policy):<24} {r['seconds'] * 1e3:>8.2f} "
              f"{int(r['kept_pairs']):>10} {compute:>10.2f} {ratio:>8.2%}  "
              f"< {ROUTING_TARGET:.0%} {verdict(ok)}")

    peer = {}
    if args.torch:
        for precision, *_ in precisions:
            results = run_torch(args.python, LAYER_TOKENS, precision)
            peer[precision] = results
            first = next(iter(results.values()), {})
            print()
            print(f"PyTorch peer (Hugging Face OlmoeSparseMoeBlock style, {precision}, torch "
                  f"{first.get('torch_version', '?')}, {first.get('threads', '?')} threads)")
            print(f"  {'T':>5} {'experts':>7} {'torch ms':>9} {'torch GF/s':>10} {'ours ms':>9} "
                  f"{'ours/torch':>10}  target")
            for tokens in LAYER_TOKENS:
                if tokens not in results:
                    continue
                p = results[tokens]
                ours = layers[(precision, tokens)]["seconds"] * 1e3
                ratio = ours / p["ms"]
                ok = ratio <= TORCH_TARGET
                if not ok:
                    misses.append(f"{precision} T={tokens} takes {ratio:.2f}x PyTorch's time")
                print(f"  {tokens:>5} {p['experts_touched']:>7} {p['ms']:>9.1f} {p['gflops']:>10.1f} "
                      f"{ours:>9.1f} {ratio:>10.2f}  <= {TORCH_TARGET} {verdict(ok)}")

    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"moe_bench": report, "torch": peer or None}, out, indent=1)

    print()
    if misses:
        print("Targets missed: " + "; ".join(misses))
    else:
        print("All targets met.")
    return 1 if (misses and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
