#!/usr/bin/env python3
"""Writes tests/data/hf_routers/: Hugging Face's own MoE blocks as the oracle for MoEScope.

For each architecture MoEScope reads, a tiny randomly initialised transformers model is built
offline from a config (its weights rounded to bf16, so the bf16 checkpoint holds them exactly),
run on random token ids, and forward hooks on every MoE block and its router record what they
saw and computed. Each folder is a small model folder:
  config.json         the model's config (read by `moescope-cli spec --from-hf`, `run --model`)
  model.safetensors   the MoE blocks' weights in BF16 under the checkpoint's own tensor names
                      (deepseek_v2: two shards and model.safetensors.index.json instead)
  routing.safetensors for MoE layer i:
    model.layers.{i}.router_logits            F32 [T, E]  the logits the router computed
    model.layers.{i}.hidden_states            F32 [T, H]  the hidden states entering the block
    model.layers.{i}.e_score_correction_bias  F32 [E]     DeepSeek-V3's selection bias, if any
    hf.layers.{i}.topk_indices                F32 [T, k]  the experts HF chose (exact as floats)
    hf.layers.{i}.topk_weights                F32 [T, k]  their weights
    hf.layers.{i}.moe_output                  F32 [T, H]  the block's output (shared experts in)
Needs torch and transformers (not needed to build or run MoEScope):
  pip install torch transformers && python3 scripts/make_router_fixtures.py
"""
import argparse
import json
import os
import shutil
import tempfile

import torch
from safetensors.torch import load_file, save_file
from transformers import (AutoModelForCausalLM, DeepseekV2Config, DeepseekV3Config, GptOssConfig,
                          MixtralConfig, OlmoeConfig, Qwen2MoeConfig, Qwen3MoeConfig)

COMMON = dict(vocab_size=128, hidden_size=32, num_attention_heads=4, num_key_value_heads=4,
              max_position_embeddings=64, tie_word_embeddings=False)
DEEPSEEK_ATTENTION = dict(kv_lora_rank=16, q_lora_rank=None, qk_rope_head_dim=4,
                          qk_nope_head_dim=4, v_head_dim=8, head_dim=4)


def configs():
    yield "mixtral", MixtralConfig(**COMMON, num_hidden_layers=2, intermediate_size=16,
                                   num_local_experts=8, num_experts_per_tok=2)
    yield "olmoe", OlmoeConfig(**COMMON, num_hidden_layers=2, intermediate_size=16,
                               num_experts=16, num_experts_per_tok=4, norm_topk_prob=False)
    yield "qwen2_moe", Qwen2MoeConfig(**COMMON, num_hidden_layers=2, intermediate_size=64,
                                      moe_intermediate_size=16, shared_expert_intermediate_size=24,
                                      num_experts=12, num_experts_per_tok=4, norm_topk_prob=False)
    yield "qwen3_moe", Qwen3MoeConfig(**COMMON, num_hidden_layers=2, intermediate_size=64,
                                      moe_intermediate_size=16, num_experts=16,
                                      num_experts_per_tok=4, norm_topk_prob=True, head_dim=8)
    yield "deepseek_v2", DeepseekV2Config(**COMMON, **DEEPSEEK_ATTENTION, num_hidden_layers=3,
                                          intermediate_size=64, moe_intermediate_size=16,
                                          first_k_dense_replace=1, n_routed_experts=32,
                                          n_shared_experts=2, num_experts_per_tok=6,
                                          topk_method="group_limited_greedy", n_group=8,
                                          topk_group=3, routed_scaling_factor=16.0,
                                          norm_topk_prob=False)
    yield "deepseek_v3", DeepseekV3Config(**COMMON, **DEEPSEEK_ATTENTION, num_hidden_layers=3,
                                          intermediate_size=64, moe_intermediate_size=16,
                                          first_k_dense_replace=1, n_routed_experts=32,
                                          n_shared_experts=1, num_experts_per_tok=8, n_group=8,
                                          topk_group=4, routed_scaling_factor=2.5,
                                          norm_topk_prob=True)
    # Kimi-K2 ships DeepSeek-V3's architecture under model_type "kimi_k2": one group.
    yield "kimi_k2", DeepseekV3Config(**COMMON, **DEEPSEEK_ATTENTION, num_hidden_layers=2,
                                      intermediate_size=64, moe_intermediate_size=16,
                                      first_k_dense_replace=1, n_routed_experts=48,
                                      n_shared_experts=1, num_experts_per_tok=8, n_group=1,
                                      topk_group=1, routed_scaling_factor=2.827,
                                      norm_topk_prob=True)
    # A limit low enough that the clamps act on these small random activations.
    yield "gpt_oss", GptOssConfig(**COMMON, num_hidden_layers=2, intermediate_size=24,
                                  num_local_experts=16, num_experts_per_tok=4, head_dim=8,
                                  swiglu_limit=0.02)


def moe_blocks(model):
    """The MoE blocks in layer order, each with its router (`gate`, gpt-oss's `router`)."""
    blocks = []
    for layer in model.model.layers:
        mlp = layer.mlp
        router = getattr(mlp, "gate", None) or getattr(mlp, "router", None)
        if router is not None and hasattr(mlp, "experts"):
            blocks.append((mlp, router))
    return blocks


def capture(name, config, tokens, seed):
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config).eval()
    blocks = moe_blocks(model)
    with torch.no_grad():  # a new model's expert biases are zero; trained ones are not
        for block, _ in blocks:
            for name in ("gate_up_proj_bias", "down_proj_bias"):
                if hasattr(block.experts, name):
                    getattr(block.experts, name).copy_(
                        torch.randn_like(getattr(block.experts, name)) * 0.05)
    model.to(torch.bfloat16).to(torch.float32)  # weights a bf16 checkpoint holds exactly
    tensors = {}
    for i, (block, router) in enumerate(blocks):
        bias = getattr(router, "e_score_correction_bias", None)
        if bias is not None:  # trained models have one; a new model's is zero
            with torch.no_grad():
                bias.copy_(torch.randn_like(bias) * 0.05)
            tensors[f"model.layers.{i}.e_score_correction_bias"] = bias.detach().float().clone()

        def on_block(module, args, i=i):
            tensors[f"model.layers.{i}.hidden_states"] = args[0].reshape(
                -1, args[0].shape[-1]).detach().float().clone()

        def on_block_output(module, args, output, i=i):
            if isinstance(output, tuple):  # gpt-oss returns (output, router scores)
                output = output[0]
            tensors[f"hf.layers.{i}.moe_output"] = output.reshape(
                -1, output.shape[-1]).detach().float().clone()

        def on_gate(module, args, output, i=i):
            logits, weights, indices = output
            tensors[f"model.layers.{i}.router_logits"] = logits.detach().float().clone()
            tensors[f"hf.layers.{i}.topk_weights"] = weights.detach().float().clone()
            tensors[f"hf.layers.{i}.topk_indices"] = indices.detach().float().clone()

        block.register_forward_pre_hook(on_block)
        block.register_forward_hook(on_block_output)
        router.register_forward_hook(on_gate)
    ids = torch.randint(0, config.vocab_size, (2, tokens // 2))
    with torch.no_grad():
        model(input_ids=ids)
    return model, {k: v.contiguous() for k, v in tensors.items()}


def write_checkpoint(model, folder, sharded):
    """The MoE blocks' tensors as transformers saves them (its own on-disk names), in bf16."""
    full = tempfile.mkdtemp()
    model.save_pretrained(full)
    weights = load_file(os.path.join(full, "model.safetensors"))
    shutil.rmtree(full)
    moe = {k: v.to(torch.bfloat16).contiguous() for k, v in weights.items()
           if (".mlp." in k or ".block_sparse_moe." in k) and
           (".experts." in k or ".shared_expert" in k or k.endswith("gate.weight"))}
    if not sharded:
        save_file(moe, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        return
    names = sorted(moe)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for n, part in enumerate(halves):
        shard = f"model-{n + 1:05d}-of-00002.safetensors"
        save_file({k: moe[k] for k in part}, os.path.join(folder, shard), metadata={"format": "pt"})
        weight_map.update({k: shard for k in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1, sort_keys=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                      "data", "hf_routers"))
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, config in configs():
        model, tensors = capture(name, config, args.tokens, args.seed)
        folder = os.path.join(args.out, name)
        staging = tempfile.mkdtemp(dir=args.out)  # a folder appears whole or not at all
        config.save_pretrained(staging)
        if name == "kimi_k2":
            path = os.path.join(staging, "config.json")
            text = open(path).read().replace('"model_type": "deepseek_v3"',
                                             '"model_type": "kimi_k2"')
            open(path, "w").write(text)
        save_file(tensors, os.path.join(staging, "routing.safetensors"),
                  metadata={"transformers_model_type": config.model_type})
        write_checkpoint(model, staging, sharded=name == "deepseek_v2")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        layers = sum(1 for k in tensors if k.endswith("router_logits"))
        print(f"{name}: {layers} MoE layers, {args.tokens} tokens -> {folder}")


if __name__ == "__main__":
    main()
