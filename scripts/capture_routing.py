#!/usr/bin/env python3
"""Captures a Hugging Face MoE model's routing on your prompts, for MoEScope to replay.

Loads a local model folder (offline: nothing is downloaded), runs it on the prompts, and with
forward hooks records, for every MoE block (or those --layers names), the hidden states entering
it, the router's logits and, where the model has one, the router's selection bias. Writes into
OUT (each file appears whole or not at all; Ctrl-C leaves none half-written):
  routing.safetensors  model.layers.{i}.router_logits [T, E], model.layers.{i}.hidden_states
                       [T, H] and model.layers.{i}.e_score_correction_bias [E] (F32), i the MoE
                       layer (dense leading layers are not counted), T the real tokens
                       (padding is left out)
  config.json          the model's config: MoEScope reads it as the spec (--spec OUT/config.json)
  manifest.json        model, model_type, prompt file and its SHA-256, tokens, dtype, device,
                       layers, the library versions
Prompts: a text file (one prompt per line) or JSONL (one object per line with "text", or
"input_ids" for a model without a tokenizer). Then, for instance:
  moescope-cli run --spec OUT/config.json --logits OUT/routing.safetensors --weights MODEL_DIR \\
      --compare
Needs torch and transformers (pip install torch transformers); MoEScope itself does not.
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile


def fail(message):
    print(f"capture_routing: error: {message}", file=sys.stderr)
    sys.exit(2)


def read_prompts(path):
    """A list of prompts, each {"text": str} or {"input_ids": [int]}."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f]
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read the prompts ({e})")
    prompts = []
    jsonl = path.endswith(".jsonl")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if not jsonl:
            prompts.append({"text": line})
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"{path}:{n}: not JSON ({e.msg})")
        if not isinstance(item, dict) or not ("text" in item or "input_ids" in item):
            fail(f"{path}:{n}: a prompt needs \"text\" or \"input_ids\"")
        ids = item.get("input_ids")
        if ids is not None and (not isinstance(ids, list) or
                                not all(isinstance(i, int) and i >= 0 for i in ids) or not ids):
            fail(f"{path}:{n}: \"input_ids\" must be a non-empty list of token ids")
        prompts.append(item)
    if not prompts:
        fail(f"{path}: holds no prompt")
    return prompts


def router_of(block):
    """A block's router: `gate` in most architectures, `router` in gpt-oss."""
    for name in ("gate", "router"):
        router = getattr(block, name, None)
        if hasattr(router, "register_forward_hook"):  # a module, not a field of that name
            return router
    return None


def moe_blocks(model):
    """The MoE blocks in layer order: an MLP holding a router and `experts`."""
    inner = getattr(model, "model", model)
    blocks = []
    for layer in getattr(inner, "layers", []):
        for name in ("mlp", "block_sparse_moe"):
            block = getattr(layer, name, None)
            if block is not None and router_of(block) is not None and hasattr(block, "experts"):
                blocks.append(block)
                break
    return blocks


class Progress:
    def __init__(self, total):
        self.total, self.done = total, 0

    def add(self, n):
        self.done = min(self.total, self.done + n)
        width = 30
        filled = width * self.done // max(1, self.total)
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} tokens",
              end="", file=sys.stderr, flush=True)

    def close(self):
        print(file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a local Hugging Face model folder")
    parser.add_argument("prompts", help="a text file (a prompt per line) or a .jsonl file")
    parser.add_argument("--out", required=True, help="the folder to write into")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=512, help="tokens per prompt at most")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--layers", help="MoE layers to record, e.g. 0,5,11 (default: all)")
    parser.add_argument("--max-tokens", type=int, default=4096, help="tokens to record at most")
    args = parser.parse_args()
    if args.batch_size < 1 or args.seq_len < 1 or args.max_tokens < 1:
        fail("--batch-size, --seq-len and --max-tokens must be positive")
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        fail(f"{args.model}: not a model folder (no config.json)")
    prompts = read_prompts(args.prompts)

    try:
        import torch
        import transformers
        from safetensors.torch import save_file
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        fail(f"needs torch and transformers ({e}); pip install torch transformers")

    dtype = getattr(torch, args.dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype,
                                                     local_files_only=True).to(args.device).eval()
    except Exception as e:  # transformers raises many kinds; name the folder and the reason
        fail(f"{args.model}: cannot load the model ({e})")
    tokenizer = None
    if any("text" in p and "input_ids" not in p for p in prompts):
        try:
            tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
        except Exception as e:
            fail(f"{args.model}: text prompts need the model's tokenizer ({e}); "
                 "give \"input_ids\" in a .jsonl file instead")
    blocks = moe_blocks(model)
    if not blocks:
        fail(f"{args.model}: no MoE block found (a router, `gate` or `router`, and `experts` "
             "in each layer's MLP)")
    wanted = list(range(len(blocks)))
    if args.layers:
        try:
            wanted = sorted({int(x) for x in args.layers.split(",")})
        except ValueError:
            fail(f"--layers: '{args.layers}' is not a list of layer numbers")
        bad = [i for i in wanted if i < 0 or i >= len(blocks)]
        if bad:
            fail(f"--layers: the model has MoE layers 0..{len(blocks) - 1}, not {bad}")

    recorded = {i: {"hidden": [], "logits": []} for i in wanted}
    mask_now = {}

    def keep_real(t):
        flat = t.reshape(-1, t.shape[-1])
        return flat[mask_now["rows"]].detach().float().cpu()

    for i in wanted:
        block = blocks[i]
        block.register_forward_pre_hook(
            lambda m, a, i=i: recorded[i]["hidden"].append(keep_real(a[0])))
        router_of(block).register_forward_hook(
            lambda m, a, out, i=i: recorded[i]["logits"].append(
                keep_real(out[0] if isinstance(out, tuple) else out)))

    progress = Progress(args.max_tokens)
    total = 0
    with torch.no_grad():
        for start in range(0, len(prompts), args.batch_size):
            if total >= args.max_tokens:
                break
            batch = prompts[start:start + args.batch_size]
            ids = []
            for p in batch:
                ids.append(p["input_ids"][:args.seq_len] if "input_ids" in p else
                           tokenizer(p["text"], truncation=True,
                                     max_length=args.seq_len)["input_ids"])
            width = max(len(x) for x in ids)
            input_ids = torch.zeros((len(ids), width), dtype=torch.long)
            mask = torch.zeros((len(ids), width), dtype=torch.long)
            for r, x in enumerate(ids):
                input_ids[r, :len(x)] = torch.tensor(x)
                mask[r, :len(x)] = 1
            mask_now["rows"] = mask.reshape(-1).bool().to(args.device)
            model(input_ids=input_ids.to(args.device), attention_mask=mask.to(args.device))
            real = int(mask.sum())
            total += real
            progress.add(real)
    progress.close()
    tokens = min(total, args.max_tokens)

    tensors = {}
    for i in wanted:
        tensors[f"model.layers.{i}.hidden_states"] = torch.cat(recorded[i]["hidden"])[:tokens]
        tensors[f"model.layers.{i}.router_logits"] = torch.cat(recorded[i]["logits"])[:tokens]
        bias = getattr(router_of(blocks[i]), "e_score_correction_bias", None)
        if bias is not None:
            tensors[f"model.layers.{i}.e_score_correction_bias"] = bias.detach().float().cpu()
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    with open(args.prompts, "rb") as f:
        prompt_hash = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "model": os.path.abspath(args.model),
        "model_type": model.config.model_type,
        "prompts": os.path.abspath(args.prompts),
        "prompts_sha256": prompt_hash,
        "tokens": tokens,
        "dtype": args.dtype,
        "device": args.device,
        "moe_layers": len(blocks),
        "layers_recorded": wanted,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "captured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }

    # Everything goes to temporaries in OUT first and is renamed in at the end, so an interrupted
    # capture leaves no half-written file.
    os.makedirs(args.out, exist_ok=True)
    staged = []
    try:
        fd, routing = tempfile.mkstemp(dir=args.out, suffix=".tmp")
        os.close(fd)
        staged.append((routing, "routing.safetensors"))
        save_file(tensors, routing, metadata={"captured_by": "moescope capture_routing.py"})
        fd, config = tempfile.mkstemp(dir=args.out, suffix=".tmp")
        os.close(fd)
        staged.append((config, "config.json"))
        shutil.copyfile(os.path.join(args.model, "config.json"), config)
        fd, man = tempfile.mkstemp(dir=args.out, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(manifest, f, indent=2)
        staged.append((man, "manifest.json"))
        for tmp, name in staged:
            os.replace(tmp, os.path.join(args.out, name))
        staged = []
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.remove(tmp)
    layers = ",".join(str(i) for i in wanted)
    print(f"captured {tokens} tokens of {len(wanted)} MoE layers into {args.out}; replay with\n"
          f"  moescope-cli run --spec {os.path.join(args.out, 'config.json')} "
          f"--logits {os.path.join(args.out, 'routing.safetensors')} --layers {layers} "
          f"--weights {args.model} --compare")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ncapture_routing: interrupted; nothing written", file=sys.stderr)
        sys.exit(130)
