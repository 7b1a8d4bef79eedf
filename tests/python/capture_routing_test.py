#!/usr/bin/env python3
"""scripts/capture_routing.py on a tiny DeepSeek-V3 and a tiny gpt-oss built offline from a
config: the files it writes hold the real tokens only, the logits are the router's product of the
recorded hidden states (rows aligned), and moescope-cli replays them with the model's own
weights.
Skips (exit 77, ctest's SKIP_RETURN_CODE) where torch or transformers is not installed.
Usage: capture_routing_test.py MOESCOPE_CLI"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "capture_routing.py")

try:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, DeepseekV3Config, GptOssConfig
except ImportError as e:
    print(f"SKIP: torch and transformers are not installed for {sys.executable} ({e})")
    sys.exit(77)


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}")
        sys.exit(1)


def capture(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def check_gpt_oss(cli, work, prompts):
    """gpt-oss's router is `router` (with a bias in its logits); its experts run on replay."""
    model_dir = os.path.join(work, "tiny-gpt-oss")
    torch.manual_seed(1)
    config = GptOssConfig(vocab_size=128, hidden_size=32, num_attention_heads=4,
                          num_key_value_heads=4, max_position_embeddings=64, head_dim=8,
                          num_hidden_layers=2, intermediate_size=24, num_local_experts=8,
                          num_experts_per_tok=2, tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        model.model.layers[0].mlp.router.bias.copy_(torch.randn(8))
    model.save_pretrained(model_dir)
    out = os.path.join(work, "capture-gpt-oss")
    r = capture(model_dir, prompts, "--out", out, "--max-tokens", "16")
    check(r.returncode == 0, f"gpt-oss capture failed: {r.stderr}")
    tensors = load_file(os.path.join(out, "routing.safetensors"))
    router = model.model.layers[0].mlp.router
    expected = tensors["model.layers.0.hidden_states"] @ router.weight.detach().float().T + \
        router.bias.detach().float()
    check(torch.allclose(expected, tensors["model.layers.0.router_logits"], atol=1e-5),
          "gpt-oss: the recorded logits are not the router's, bias included")
    session = os.path.join(work, "gpt-oss.moescope")
    run = subprocess.run([cli, "run", "--model", model_dir, "--logits",
                          os.path.join(out, "routing.safetensors"), "--weights", model_dir,
                          "--backend", "cpu", "--session", session],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"moescope-cli run of gpt-oss failed: {run.stderr}")
    check("clamped SwiGLU" in run.stdout, f"the run does not name gpt-oss's experts: {run.stdout}")


def main():
    cli = sys.argv[1]
    work = tempfile.mkdtemp()
    model_dir = os.path.join(work, "tiny-v3")
    torch.manual_seed(0)
    config = DeepseekV3Config(vocab_size=128, hidden_size=32, num_attention_heads=4,
                              num_key_value_heads=4, max_position_embeddings=64,
                              num_hidden_layers=3, intermediate_size=64, moe_intermediate_size=16,
                              first_k_dense_replace=1, n_routed_experts=16, n_shared_experts=1,
                              num_experts_per_tok=4, n_group=4, topk_group=2,
                              routed_scaling_factor=2.5, norm_topk_prob=True, kv_lora_rank=16,
                              q_lora_rank=None, qk_rope_head_dim=4, qk_nope_head_dim=4,
                              v_head_dim=8, head_dim=4, tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(model_dir)
    prompts = os.path.join(work, "prompts.jsonl")
    with open(prompts, "w") as f:  # unequal lengths: the batch is padded
        for n in (5, 9, 3, 12):
            f.write(json.dumps({"input_ids": [(7 * n + i) % 128 for i in range(n)]}) + "\n")

    out = os.path.join(work, "capture")
    r = capture(model_dir, prompts, "--out", out, "--layers", "1", "--max-tokens", "20",
                "--batch-size", "2")
    check(r.returncode == 0, f"capture failed: {r.stderr}")
    check(sorted(os.listdir(out)) == ["config.json", "manifest.json", "routing.safetensors"],
          f"unexpected files: {os.listdir(out)}")
    tensors = load_file(os.path.join(out, "routing.safetensors"))
    check(sorted(tensors) == ["model.layers.1.e_score_correction_bias",
                              "model.layers.1.hidden_states", "model.layers.1.router_logits"],
          f"unexpected tensors: {sorted(tensors)}")
    hidden = tensors["model.layers.1.hidden_states"]
    logits = tensors["model.layers.1.router_logits"]
    check(tuple(hidden.shape) == (20, 32) and tuple(logits.shape) == (20, 16),
          f"shapes {tuple(hidden.shape)} {tuple(logits.shape)}: 20 real tokens expected")
    # MoE layer 1 is decoder layer 2 (the first is dense); its router's product of the recorded
    # hidden states is the recorded logits, row for row.
    router = model.model.layers[2].mlp.gate.weight.detach().float()
    check(torch.allclose(hidden @ router.T, logits, atol=1e-5), "logits rows do not match")
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    check(manifest["tokens"] == 20 and manifest["model_type"] == "deepseek_v3" and
          manifest["layers_recorded"] == [1] and len(manifest["prompts_sha256"]) == 64,
          f"manifest: {manifest}")

    session = os.path.join(work, "s.moescope")
    run = subprocess.run([cli, "run", "--spec", os.path.join(out, "config.json"), "--logits",
                          os.path.join(out, "routing.safetensors"), "--layers", "1", "--weights",
                          model_dir, "--compare", "--backend", "cpu", "--session", session],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"moescope-cli run failed: {run.stderr}")
    check("weights: checkpoint(" in run.stdout, run.stdout)

    check_gpt_oss(cli, work, prompts)

    # Bad input: one error line naming what is wrong, nothing written.
    empty = os.path.join(work, "empty.txt")
    open(empty, "w").close()
    bad = os.path.join(work, "bad-out")
    r = capture(model_dir, empty, "--out", bad)
    check(r.returncode == 2 and "holds no prompt" in r.stderr and not os.path.exists(bad),
          f"empty prompts: {r.returncode} {r.stderr}")
    r = capture(work, prompts, "--out", bad)
    check(r.returncode == 2 and "not a model folder" in r.stderr, f"no config: {r.stderr}")
    r = capture(model_dir, prompts, "--out", bad, "--layers", "5")
    check(r.returncode == 2 and "MoE layers 0..1" in r.stderr, f"bad layers: {r.stderr}")
    print("PASS")


if __name__ == "__main__":
    main()
