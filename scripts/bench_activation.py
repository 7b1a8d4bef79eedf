#!/usr/bin/env python3
"""The cost of gpt-oss's experts on the CPU: the OLMoE-shaped layer with the clamped SwiGLU and
biases (unfused products, the activation a pass between them) against the same layer with plain
SwiGLU (the activation fused into oneDNN's products), same routing and weights, side by side.

  python3 scripts/bench_activation.py [build/bench/tests/bench/moe_bench] [--repetitions N]
"""
import argparse
import os

from bench_common import ratio_line, run_benchmarks


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=os.path.join(
        repo, "build", "bench", "tests", "bench", "moe_bench"))
    parser.add_argument("--repetitions", type=int, default=7)
    args = parser.parse_args()
    times, counters, ctx = run_benchmarks(
        args.binary, args.repetitions,
        ["--benchmark_filter=^BM_MoeLayer(Clamped)?(Bf16)?/", "--benchmark_min_time=0.5"])
    print(f"clamped SwiGLU with biases / plain SwiGLU, OLMoE shape (H 2048, F 1024, E 64, top-8) "
          f"on {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"{args.repetitions} repetitions (interleaved)")
    for precision, suffix in (("fp32", ""), ("bf16", "Bf16")):
        for tokens in (16, 256, 2048):
            plain = times.get(f"BM_MoeLayer{suffix}/T:{tokens}")
            clamped = times.get(f"BM_MoeLayerClamped{suffix}/T:{tokens}")
            if not plain or not clamped:
                print(f"  {precision} T={tokens}: not run (no BF16 instructions?)")
                continue
            print(ratio_line(f"{precision} T={tokens}", clamped, plain)[0])


if __name__ == "__main__":
    main()
