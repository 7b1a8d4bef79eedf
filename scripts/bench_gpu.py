#!/usr/bin/env python3
"""Runs the CUDA benchmark suite once and prints ratios measured side by side in that run.

For Mixtral-8x7B, OLMoE-1B-7B and DeepSeek-V2-Lite at T = 1, 32, 512, 4096, 16384 (bf16,
grouped GEMMs, the baseline layer on one GPU):

  time, TFLOP/s
  vs dense   layer TFLOP/s / the TFLOP/s of one cuBLAS GEMM with the routed experts' FLOPs;
             target >= 0.70 at T >= 4096
  vs floor   layer time / HBM floor (the expert weight bytes read / 3.35 TB/s); target <= 1.5
             at T <= 32
  vs torch   PyTorch's Hugging Face-style layer time / ours (with --torch); target >= 2 at
             T >= 512
  CUPTI      a whole run_layer traced by CUPTI / timed by CUDA events; target < 1.05

  scripts/bench_gpu.py [BUILD/tests/bench/cuda_bench] [--torch]
Standard library only; --torch needs PyTorch with CUDA.
"""

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(REPO, "build", "gpu", "tests", "bench", "cuda_bench")
TORCH_PEER = os.path.join(REPO, "tests", "bench", "torch_moe_gpu_peer.py")
HBM_BYTES_PER_S = 3.35e12
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(bench):
    return bench["real_time"] * TIME_UNITS[bench["time_unit"]]


def run_suite(binary):
    """Benchmarks by name, without the /manual_time or /real_time suffix Google Benchmark adds."""
    out = subprocess.run([binary, "--benchmark_format=json"], check=True, capture_output=True,
                         text=True).stdout
    benches = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].removesuffix("/manual_time").removesuffix("/real_time")
        if b.get("error_occurred"):
            print(f"{name}: {b.get('error_message')}", file=sys.stderr)
            continue
        benches[name] = b
    return benches


def run_torch():
    times = {}
    out = subprocess.run([sys.executable, TORCH_PEER], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        row = json.loads(line)
        times[(row["model"], row["tokens"])] = row["us"] * 1e-6
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=DEFAULT_BINARY)
    parser.add_argument("--torch", action="store_true", help="also time the PyTorch peer")
    args = parser.parse_args()
    benches = run_suite(args.binary)
    torch_times = run_torch() if args.torch else {}

    print(f"{'model':18} {'T':>6} {'time us':>10} {'TFLOP/s':>8} {'vs dense':>9} "
          f"{'vs floor':>9} {'vs torch':>9}")
    for name, b in benches.items():
        if not name.startswith("BM_CudaMoeLayer/"):
            continue
        _, model, tokens = name.split("/")
        t = seconds(b)
        tflops = b["flops"] / t * 1e-12
        dense = benches.get(f"BM_CudaDenseGemm/{model}/{tokens}")
        vs_dense = tflops / (dense["flops"] / seconds(dense) * 1e-12) if dense else float("nan")
        vs_floor = t / (b["weight_bytes"] / HBM_BYTES_PER_S)
        torch_t = torch_times.get((model, int(tokens)))
        vs_torch = f"{torch_t / t:9.2f}" if torch_t else f"{'-':>9}"
        print(f"{model:18} {tokens:>6} {t * 1e6:10.1f} {tflops:8.1f} {vs_dense:9.2f} "
              f"{vs_floor:9.2f} {vs_torch}")
    cupti = benches.get("BM_CudaLayerWall/cupti")
    events = benches.get("BM_CudaLayerWall/events")
    if cupti and events:
        print(f"CUPTI overhead (OLMoE, T 4096, grouped, whole run_layer): "
              f"{seconds(cupti) / seconds(events):.3f}x")


if __name__ == "__main__":
    main()
