#!/usr/bin/env python3
"""The OLMoE-1B-7B MoE layer in PyTorch on the CPU, written the Hugging Face way.

A peer for the CPU backend's BM_MoeLayer (tests/bench/moe_layer_bench.cpp): the forward of
transformers' OlmoeSparseMoeBlock (router softmax, top-k, a loop over the experts with
torch.where and index_add_), fp32 or bf16 (--dtype), H 2048, F 1024, E 64, top-8, no shared experts.

The one departure from the Hugging Face block: a fixed per-expert popularity bias,
skew * N(0, 1), is added to the router logits, so that the expert loads follow the same
distribution as MoEScope's synthetic routing (make_synthetic_routing, skew 0.6, the CLI default). The tokens
themselves are not the same ones; the number of distinct experts touched is printed so the
loads can be compared. The timed forward includes the router (gate, softmax, top-k), about
0.1% of the FLOPs.

Prints one JSON line per token count. Not part of CI: scripts/bench_cpu.py --torch runs it.
"""

import argparse
import json
import statistics
import sys
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns when NumPy is absent; it is not needed here
    import torch
    import torch.nn.functional as F
    from torch import nn

HIDDEN = 2048
FFN = 1024
EXPERTS = 64
TOP_K = 8


class OlmoeMLP(nn.Module):
    def __init__(self, hidden, ffn):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, ffn, bias=False)
        self.up_proj = nn.Linear(hidden, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, hidden, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class OlmoeSparseMoeBlock(nn.Module):
    def __init__(self, hidden, ffn, experts, top_k, skew, generator):
        super().__init__()
        self.num_experts = experts
        self.top_k = top_k
        self.norm_topk_prob = False  # OLMoE-1B-7B's config
        self.gate = nn.Linear(hidden, experts, bias=False)
        self.experts = nn.ModuleList([OlmoeMLP(hidden, ffn) for _ in range(experts)])
        # MoEScope's synthetic weights: uniform, variance 1/H into the FFN, 1/F out of it.
        with torch.no_grad():
            bound_in = (3.0 / hidden) ** 0.5
            bound_out = (3.0 / ffn) ** 0.5
            self.gate.weight.uniform_(-bound_in, bound_in, generator=generator)
            for expert in self.experts:
                expert.gate_proj.weight.uniform_(-bound_in, bound_in, generator=generator)
                expert.up_proj.weight.uniform_(-bound_in, bound_in, generator=generator)
                expert.down_proj.weight.uniform_(-bound_out, bound_out, generator=generator)
        self.register_buffer("popularity", skew * torch.randn(experts, generator=generator))

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states) + self.popularity
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        if self.norm_topk_prob:
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)

        final_hidden_states = torch.zeros(
            (batch_size * sequence_length, hidden_dim),
            dtype=hidden_states.dtype,
            device=hidden_states.device,
        )
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        final_hidden_states = final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)
        return final_hidden_states, router_logits, selected_experts


def measure(block, tokens, min_time, min_iterations, generator, dtype):
    x = torch.randn(1, tokens, HIDDEN, generator=generator).to(dtype)
    _, _, selected = block(x)  # warm-up: first-touch of buffers, MKL/oneDNN initialisation
    times = []
    start = time.perf_counter()
    while len(times) < min_iterations or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        block(x)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    flops = tokens * TOP_K * 6.0 * HIDDEN * FFN
    return {
        "impl": "torch-hf-olmoe",
        "dtype": str(dtype).replace("torch.", ""),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "tokens": tokens,
        "experts_touched": int(torch.unique(selected).numel()),
        "iterations": len(times),
        "ms": seconds * 1e3,
        "gflops": flops / seconds / 1e9,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="16,256,2048", help="comma-separated token counts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds per token count")
    parser.add_argument("--min-iterations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skew", type=float, default=0.6)
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32",
                        help="weights and activations (bf16: as checkpoints are stored)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    with torch.inference_mode():
        dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
        block = OlmoeSparseMoeBlock(HIDDEN, FFN, EXPERTS, TOP_K, args.skew, generator)
        block = block.to(dtype).eval()
        for tokens in (int(t) for t in args.tokens.split(",")):
            result = measure(block, tokens, args.min_time, args.min_iterations, generator, dtype)
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
