#!/usr/bin/env python3
"""MoE layers in PyTorch on the GPU, written the Hugging Face way: the peer of cuda_bench.

The forward of transformers' sparse MoE blocks (MixtralSparseMoeBlock, OlmoeSparseMoeBlock,
DeepseekV2MoE): router softmax in fp32, top-k, the weights normalised when the model does,
then a loop over the experts with torch.where and index_add_, plus the shared experts. bf16
weights and activations on one GPU, timed with CUDA events (median of the repeats).

Prints one JSON line per (model, token count). scripts/bench_gpu.py runs it.
"""

import argparse
import json
import statistics

import torch
import torch.nn.functional as F
from torch import nn

MODELS = {
    # name: hidden, expert ffn, experts, top-k, shared experts, shared ffn, norm_topk_prob
    "mixtral-8x7b": (4096, 14336, 8, 2, 0, 0, True),
    "olmoe-1b-7b": (2048, 1024, 64, 8, 0, 0, False),
    "deepseek-v2-lite": (2048, 1408, 64, 6, 2, 1408, False),
}


class SwiGLU(nn.Module):
    def __init__(self, hidden, ffn):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, ffn, bias=False)
        self.up_proj = nn.Linear(hidden, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class SparseMoeBlock(nn.Module):
    def __init__(self, hidden, ffn, experts, top_k, shared, shared_ffn, norm_topk_prob):
        super().__init__()
        self.top_k = top_k
        self.norm_topk_prob = norm_topk_prob
        self.gate = nn.Linear(hidden, experts, bias=False)
        self.experts = nn.ModuleList([SwiGLU(hidden, ffn) for _ in range(experts)])
        self.shared = SwiGLU(hidden, shared * shared_ffn) if shared else None

    def forward(self, hidden_states):
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected = torch.topk(routing_weights, self.top_k, dim=-1)
        if self.norm_topk_prob:
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final = torch.zeros_like(hidden_states)
        expert_mask = F.one_hot(selected, num_classes=len(self.experts)).permute(2, 1, 0)
        for e, expert in enumerate(self.experts):
            idx, top_x = torch.where(expert_mask[e])
            if top_x.numel() == 0:
                continue
            current = hidden_states[top_x]
            out = expert(current) * routing_weights[top_x, idx, None]
            final.index_add_(0, top_x, out.to(hidden_states.dtype))
        if self.shared is not None:
            final = final + self.shared(hidden_states)
        return final


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tokens", default="1,32,512,4096,16384")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device("cuda")
    for model in args.models.split(","):
        block = SparseMoeBlock(*MODELS[model]).to(device=device, dtype=torch.bfloat16).eval()
        for tokens in (int(t) for t in args.tokens.split(",")):
            x = torch.randn(tokens, MODELS[model][0], device=device, dtype=torch.bfloat16)
            times = []
            with torch.no_grad():
                for i in range(args.repeats + 3):
                    start = torch.cuda.Event(enable_timing=True)
                    stop = torch.cuda.Event(enable_timing=True)
                    start.record()
                    block(x)
                    stop.record()
                    torch.cuda.synchronize()
                    if i >= 3:
                        times.append(start.elapsed_time(stop) * 1e3)
            print(json.dumps({"model": model, "tokens": tokens, "us": statistics.median(times)}),
                  flush=True)
        del block
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
