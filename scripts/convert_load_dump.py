#!/usr/bin/env python3
"""Converts a serving engine's expert-load dump into MoEScope's formats.

Reads (torch.load, weights only, on the CPU), recognised by their keys:
  SGLang's expert distribution recorder (python/sglang/srt/eplb/expert_distribution.py), files
  from SGLANG_EXPERT_DISTRIBUTION_RECORDER_DIR:
    stat / stat_approx  expert_distribution_recorder_TIME.pt: {"rank", "logical_count"
                        [passes, decoder layers, logical experts], ...}, already summed over
                        ranks
    per_token           expert_distribution_recorder_TIME_RANK.pt, one per rank: {"records":
                        [{"forward_pass_id", "rank", "topk_ids_of_layer" [decoder layers,
                        tokens, 8] physical ids, -1 unused}, ...],
                        "last_physical_to_logical_map" [decoder layers, physical experts]}
  vLLM's EPLB load window (vllm/distributed/eplb/eplb_state.py; vLLM writes none to disk: save
  it from the EplbState with torch.save({"expert_load_window": s.expert_load_window,
  "physical_to_logical_map": s.physical_to_logical_map}, PATH)): [window, MoE layers, physical
  experts] token counts, and the map of the window's placement.
Writes:
  counts (stat, vLLM)   OUT.json: {"logical_count": [[...]]} per MoE layer and logical expert,
                        summed over the passes: `moescope-cli plan --loads`, `run --plan-loads`
                        (and SGLang's --init-expert-location) read it.
  chosen experts        OUT.safetensors: model.layers.{i}.topk_ids F32 [T, k] per MoE layer,
  (per_token)           logical ids: `moescope-cli run --logits OUT.safetensors` replays it as a
                        load-only run (policies that need scores refuse it).
Decoder layers that hold no routing anywhere in the dump (dense layers) are left out, so the
layers are numbered as MoE layers, as MoEScope counts them. Physical ids and counts are mapped
to logical experts through the dump's map. Needs torch (not needed to build or run MoEScope).

  python3 scripts/convert_load_dump.py DUMP [DUMP ...] --out OUT [--max-tokens N]
"""
import argparse
import json
import os
import sys
import tempfile
import warnings


def fail(message):
    print(f"convert_load_dump: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    import torch
    try:
        with warnings.catch_warnings():  # torch warns about legacy files: the error says enough
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except Exception as e:  # pickle, zip and torch errors alike: name the file and the reason
        reason = (str(e).splitlines() or ["empty or truncated"])[0][:200]
        fail(f"{path}: not a torch dump ({type(e).__name__}: {reason})")


def kind_of(path, dump):
    if isinstance(dump, dict):
        if "logical_count" in dump:
            return "sglang-stat"
        if "records" in dump and "last_physical_to_logical_map" in dump:
            return "sglang-per-token"
        if "expert_load_window" in dump or "expert_load_pass" in dump:
            return "vllm-window"
    keys = sorted(map(str, dump))[:8] if isinstance(dump, dict) else type(dump).__name__
    fail(f"{path}: not a dump this converter knows (keys {keys}): expected SGLang's "
         "'logical_count' (stat) or 'records' (per_token), or vLLM's 'expert_load_window'")


def tensor(path, value, name, dims):
    import torch
    if not isinstance(value, torch.Tensor) or value.dim() != dims:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        fail(f"{path}: '{name}' must be a {dims}-D tensor, got {shape}")
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        fail(f"{path}: '{name}' must hold integers, got {value.dtype}")
    if value.numel() == 0:
        fail(f"{path}: '{name}' is empty {tuple(value.shape)}")
    return value.long()


def check_map(path, mapping):
    """A physical-to-logical map: every slot a logical expert, fewer logical than physical."""
    if (mapping < 0).any() or int(mapping.max()) >= mapping.shape[1]:
        fail(f"{path}: the physical-to-logical map holds an expert id outside "
             f"0..{mapping.shape[1] - 1} (there are {mapping.shape[1]} physical experts)")


def to_logical(path, physical, mapping, name):
    """Counts [..., layers, physical] summed into [..., layers, logical] through the map."""
    import torch
    if mapping.shape != physical.shape[-2:]:
        fail(f"{path}: '{name}' has {tuple(physical.shape[-2:])} layers x physical experts, its "
             f"map {tuple(mapping.shape)}")
    check_map(path, mapping)
    logical = int(mapping.max()) + 1
    index = mapping.expand_as(physical)
    out = torch.zeros(*physical.shape[:-1], logical, dtype=torch.long)
    return out.scatter_add_(-1, index, physical)


def routed_layers(where, per_layer_total):
    """Indices of the layers that routed anything: dense decoder layers are all zero."""
    layers = [i for i, n in enumerate(per_layer_total) if n > 0]
    if not layers:
        fail(f"{where}: holds no routed token in any layer")
    return layers


def counts_from(path, dump, kind):
    if kind == "sglang-stat":
        counts = tensor(path, dump["logical_count"], "logical_count", 3).sum(0)  # over passes
    else:
        name = "expert_load_window" if "expert_load_window" in dump else "expert_load_pass"
        load_counts = dump[name]
        window = tensor(path, load_counts, name, 3 if name == "expert_load_window" else 2)
        if window.dim() == 2:
            window = window.unsqueeze(0)
        if "physical_to_logical_map" not in dump:
            fail(f"{path}: '{name}' counts physical experts; save 'physical_to_logical_map' "
                 "beside it")
        mapping = tensor(path, dump["physical_to_logical_map"], "physical_to_logical_map", 2)
        counts = to_logical(path, window, mapping, name).sum(0)
    if (counts < 0).any():
        fail(f"{path}: negative token counts")
    return counts


def chosen_experts(paths, dumps, max_tokens):
    """Per decoder layer, the [tokens, k] logical ids of every real token, in pass order."""
    import torch
    seen = {}  # forward_pass_id -> topk of the first rank that recorded it
    batches = []
    duplicates = 0
    shape = None  # (decoder layers, slots) of the first record
    for path, dump in zip(paths, dumps):
        mapping = tensor(path, dump["last_physical_to_logical_map"],
                         "last_physical_to_logical_map", 2)
        check_map(path, mapping)
        if not isinstance(dump["records"], list):
            fail(f"{path}: 'records' must be a list of forward passes")
        for n, record in enumerate(dump["records"]):
            where = f"{path}: records[{n}]"
            if not isinstance(record, dict) or "topk_ids_of_layer" not in record:
                fail(f"{where} has no 'topk_ids_of_layer' (a per_pass dump? record with "
                     "--expert-distribution-recorder-mode per_token)")
            ids = tensor(path, record["topk_ids_of_layer"], f"records[{n}].topk_ids_of_layer", 3)
            if ids.shape[0] != mapping.shape[0]:
                fail(f"{where}: {ids.shape[0]} layers, the map {mapping.shape[0]}")
            shape = shape or (ids.shape[0], ids.shape[2])
            if (ids.shape[0], ids.shape[2]) != shape:
                fail(f"{where}: {ids.shape[0]} layers x {ids.shape[2]} slots, the first record "
                     f"{shape[0]} x {shape[1]}")
            if ((ids < -1) | (ids >= mapping.shape[1])).any():
                fail(f"{where}: an expert id outside -1..{mapping.shape[1] - 1}")
            key = record.get("forward_pass_id")
            # Plain tensor parallelism: every rank routes the same tokens. Kept once.
            if key is not None and key in seen and torch.equal(seen[key], ids):
                duplicates += 1
                continue
            seen.setdefault(key, ids)
            layer_index = torch.arange(ids.shape[0]).view(-1, 1, 1).expand_as(ids)
            logical = torch.where(ids >= 0, mapping[layer_index, ids.clamp(min=0)], ids)
            # A token's replica and its original are one expert chosen twice: not a routing.
            ordered = logical.sort(-1).values
            twice = (ordered[..., 1:] == ordered[..., :-1]) & (ordered[..., 1:] >= 0)
            if twice.any():
                layer, token = [int(x) for x in twice.nonzero()[0][:2]]
                fail(f"{where}: decoder layer {layer}, token {token} chooses one logical expert "
                     "twice (through two of its physical copies)")
            batches.append(logical)
    where = ", ".join(paths)
    if not batches:
        fail(f"{where}: the dumps hold no record")
    ids = torch.cat(batches, dim=1)  # [layers, tokens, 8]
    chosen = (ids >= 0).sum(-1)  # [layers, tokens]
    layers = routed_layers(where, chosen.sum(-1).tolist())
    real = chosen[layers[0]] > 0
    k = int(chosen[layers[0]][real].max())
    for layer in layers:
        if not torch.equal(chosen[layer] > 0, real) or not (chosen[layer][real] == k).all():
            fail(f"{where}: decoder layer {layer}: tokens choose other than {k} experts, or "
                 f"other tokens than decoder layer {layers[0]}")
    out = {}
    for i, layer in enumerate(layers):
        rows = ids[layer][real]
        rows = torch.stack([r[r >= 0] for r in rows]) if len(rows) else rows[:, :k]
        out[i] = rows[:max_tokens]
    return out, layers, duplicates


def write_atomically(path, write):
    folder = os.path.dirname(os.path.abspath(path))
    fd, staging = tempfile.mkstemp(dir=folder, prefix=".convert-")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(staging)
        os.chmod(staging, 0o666 & ~umask)  # mkstemp's 0600 would make the file private
        os.replace(staging, path)  # whole or not at all
    except BaseException:
        os.unlink(staging)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", nargs="+", help="the dump files (all ranks' per_token files)")
    parser.add_argument("--out", required=True,
                        help="output path without extension: OUT.json or OUT.safetensors")
    parser.add_argument("--max-tokens", type=int, default=1 << 30,
                        help="per_token: keep the first N tokens")
    args = parser.parse_args()
    if args.max_tokens < 1:
        fail("--max-tokens must be at least 1")
    out_folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_folder):
        fail(f"--out: the folder {out_folder} does not exist")
    dumps = [load(p) for p in args.dumps]
    kinds = {kind_of(p, d) for p, d in zip(args.dumps, dumps)}
    if len(kinds) > 1:
        fail(f"the dumps are of different kinds ({', '.join(sorted(kinds))}): convert one kind "
             "at a time")
    kind = kinds.pop()
    if kind == "sglang-per-token":
        from safetensors.torch import save_file
        per_layer, layers, duplicates = chosen_experts(args.dumps, dumps, args.max_tokens)
        tensors = {f"model.layers.{i}.topk_ids": ids.float().contiguous()
                   for i, ids in per_layer.items()}
        path = args.out + ".safetensors"
        write_atomically(path, lambda p: save_file(tensors, p, metadata={
            "format": "moescope-load-dump", "version": "1", "source": "sglang per_token",
            "decoder_layers": json.dumps(layers)}))
        tokens, k = next(iter(per_layer.values())).shape
        note = f"; {duplicates} records repeated by another rank kept once" if duplicates else ""
        print(f"{path}: {len(layers)} MoE layers (decoder layers {layers[0]}..{layers[-1]}), "
              f"{tokens} tokens, top-{k}{note}")
        return
    if len(dumps) > 1:
        fail("counts: give one dump (SGLang's stat dump is already summed over ranks)")
    counts = counts_from(args.dumps[0], dumps[0], kind)
    routed = routed_layers(args.dumps[0], counts.sum(-1).tolist())  # refuses an all-zero dump
    layers = routed if kind == "sglang-stat" else list(range(counts.shape[0]))
    path = args.out + ".json"
    document = {"logical_count": counts[layers].tolist(),
                "source": "sglang stat" if kind == "sglang-stat" else "vllm load window",
                "decoder_layers": layers if kind == "sglang-stat" else None}

    def write(p):
        with open(p, "w") as f:
            json.dump(document, f)
    write_atomically(path, write)
    print(f"{path}: {len(layers)} MoE layers x {counts.shape[1]} experts, "
          f"{int(counts[layers].sum())} routed pairs")


if __name__ == "__main__":
    main()
