#!/usr/bin/env python3
"""scripts/convert_load_dump.py on dumps laid out as SGLang's expert distribution recorder
(stat and per_token) and vLLM's EPLB state hold them (keys, shapes and dtypes from their source:
python/sglang/srt/eplb/expert_distribution.py, vllm/distributed/eplb/eplb_state.py), built here
with a known routing: physical ids map back to the logical experts, dense decoder layers are left
out, a second rank's copy of the same passes is kept once, and moescope-cli reads the results
(`run --logits` as a load-only run, `plan --loads`). Bad input is one error line, nothing
written. Skips (exit 77) where torch is not installed.
Usage: convert_load_dump_test.py MOESCOPE_CLI"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "convert_load_dump.py")

try:
    import torch
    from safetensors.torch import load_file
except ImportError as e:
    print(f"SKIP: torch is not installed for {sys.executable} ({e})")
    sys.exit(77)

DECODER_LAYERS, DENSE = 4, 2  # decoder layers 0 and 1 are dense
LOGICAL, PHYSICAL, K = 8, 10, 2
# Physical slots 8 and 9 are replicas of the hot logical experts 3 and 5.
MAP = torch.tensor([list(range(8)) + [3, 5]] * DECODER_LAYERS, dtype=torch.int32)


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}")
        sys.exit(1)


def convert(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def logical_ids(pass_id, tokens):
    """Token t of a pass chooses logical experts 3 and (t + pass_id) % 8 (not 3)."""
    ids = []
    for t in range(tokens):
        other = (t + pass_id) % LOGICAL
        ids.append([3, other if other != 3 else 4])
    return torch.tensor(ids)


def to_physical(ids, pass_id):
    """Every other pass sends expert 3 to its replica in slot 8."""
    physical = ids.clone()
    if pass_id % 2:
        physical[physical == 3] = 8
    return physical


def per_token_dump(path, rank, passes, tokens):
    records = []
    for p in passes:
        topk = torch.full((DECODER_LAYERS, tokens + 1, 8), -1, dtype=torch.int32)  # 1 padding row
        for layer in range(DENSE, DECODER_LAYERS):
            topk[layer, :tokens, :K] = to_physical(logical_ids(p, tokens), p)
        records.append({"forward_pass_id": p, "rank": rank, "gatherer_key": "primary",
                        "input_ids": list(range(tokens + 1)), "topk_ids_of_layer": topk})
    torch.save({"records": records, "last_physical_to_logical_map": MAP}, path)


def main():
    cli = sys.argv[1]
    os.umask(0o022)
    work = tempfile.mkdtemp()
    spec = os.path.join(work, "spec.json")
    with open(spec, "w") as f:
        json.dump({"name": "tiny", "layers": 2, "hidden": 64, "expert_ffn": 32,
                   "experts": LOGICAL, "top_k": K}, f)

    # per_token: two ranks' files; rank 1 repeats rank 0's pass 0 (plain TP) and adds pass 2.
    rank0, rank1 = os.path.join(work, "r_0.pt"), os.path.join(work, "r_1.pt")
    per_token_dump(rank0, 0, [0, 1], tokens=6)
    per_token_dump(rank1, 1, [0, 2], tokens=6)
    out = os.path.join(work, "chosen")
    r = convert(rank0, rank1, "--out", out)
    check(r.returncode == 0, f"per_token: {r.stderr}")
    check("1 records repeated by another rank kept once" in r.stdout, r.stdout)
    check(os.stat(out + ".safetensors").st_mode & 0o777 == 0o644,
          "the output's mode is not what the umask (022) allows")
    tensors = load_file(out + ".safetensors")
    check(sorted(tensors) == ["model.layers.0.topk_ids", "model.layers.1.topk_ids"],
          f"MoE layers only: {sorted(tensors)}")
    expected = torch.cat([logical_ids(p, 6) for p in (0, 1, 2)]).float()
    check(torch.equal(tensors["model.layers.1.topk_ids"], expected),
          "the chosen experts are not the logical ids, in pass order, padding left out")
    session = os.path.join(work, "s.moescope")
    run = subprocess.run([cli, "run", "--spec", spec, "--logits", out + ".safetensors",
                          "--policy", "drop", "--priority", "position", "--session", session,
                          "--format", "json"], capture_output=True, text=True)
    check(run.returncode == 0, f"run on the load dump: {run.stderr}")
    report = json.loads(run.stdout)
    check("chosen experts only" in report["routing"], report["routing"])
    routed = report["policies"][0]["layers"][0]["routed_load"]
    check(routed[3] == 18, f"expert 3 was chosen by all 18 tokens: {routed}")
    refused = subprocess.run([cli, "run", "--spec", spec, "--logits", out + ".safetensors",
                              "--policy", "reroute", "--session", session],
                             capture_output=True, text=True)
    check(refused.returncode != 0 and "needs the router's scores" in refused.stderr,
          f"reroute on a load dump: {refused.stderr}")

    # stat: [passes, decoder layers, logical experts], summed over the passes.
    stat = os.path.join(work, "expert_distribution_recorder_1.pt")
    count = torch.zeros((3, DECODER_LAYERS, LOGICAL), dtype=torch.int32)
    count[:, DENSE:, 3] = 6
    count[:, DENSE:, 0] = 2
    torch.save({"rank": 0, "logical_count": count, "average_utilization_rate_over_window": None},
               stat)
    r = convert(stat, "--out", os.path.join(work, "stat"))
    check(r.returncode == 0, f"stat: {r.stderr}")
    doc = json.load(open(os.path.join(work, "stat.json")))
    check(doc["logical_count"] == [[6, 0, 0, 18, 0, 0, 0, 0]] * 2 and
          doc["decoder_layers"] == [2, 3], f"stat counts: {doc}")
    plan = subprocess.run([cli, "plan", "--loads", os.path.join(work, "stat.json"),
                           "--replicas", "2", "--devices", "2"], capture_output=True, text=True)
    check(plan.returncode == 0, f"plan --loads on the converted counts: {plan.stderr}")

    # vLLM: the window counts physical slots of MoE layers; slot 8 is a replica of expert 3.
    window = torch.zeros((4, 2, PHYSICAL), dtype=torch.int32)
    window[:, :, 3] = 1
    window[:, :, 8] = 2
    vllm = os.path.join(work, "vllm.pt")
    torch.save({"expert_load_window": window, "physical_to_logical_map": MAP[:2]}, vllm)
    r = convert(vllm, "--out", os.path.join(work, "vllm"))
    check(r.returncode == 0, f"vllm: {r.stderr}")
    doc = json.load(open(os.path.join(work, "vllm.json")))
    check(doc["logical_count"] == [[0, 0, 0, 12, 0, 0, 0, 0]] * 2, f"vllm counts: {doc}")

    # Bad input: one line naming the file, nothing written.
    text = os.path.join(work, "notes.txt")
    open(text, "w").write("not a dump\n")
    bad = os.path.join(work, "bad")
    for args, needle in [([text], "not a torch dump"),
                         ([os.path.join(work, "missing.pt")], "no such file"),
                         ([stat, rank0], "different kinds"),
                         ([os.path.join(work, "s.moescope")], "not a torch dump")]:
        r = convert(*args, "--out", bad)
        check(r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1,
              f"{args}: {r.returncode} {r.stderr}")
    empty = os.path.join(work, "empty.pt")
    open(empty, "w").close()
    r = convert(empty, "--out", bad)
    check(r.returncode == 2 and "not a torch dump" in r.stderr and r.stderr.count("\n") == 1,
          f"an empty file: {r.stderr}")
    r = convert(stat, "--out", os.path.join(work, "no-such-folder", "x"))
    check(r.returncode == 2 and "does not exist" in r.stderr, f"--out in a missing folder: {r.stderr}")
    twice = os.path.join(work, "twice_0.pt")
    topk = torch.full((DECODER_LAYERS, 2, 8), -1, dtype=torch.int32)
    topk[DENSE:, :, :K] = torch.tensor([[3, 8], [1, 2]], dtype=torch.int32)  # 8 is expert 3 too
    torch.save({"records": [{"forward_pass_id": 0, "rank": 0, "topk_ids_of_layer": topk}],
                "last_physical_to_logical_map": MAP}, twice)
    r = convert(twice, "--out", bad)
    check(r.returncode == 2 and "token 0 chooses one logical expert twice" in r.stderr, r.stderr)
    unknown = os.path.join(work, "unknown.pt")
    torch.save({"version": 9, "counts": torch.zeros(2)}, unknown)
    r = convert(unknown, "--out", bad)
    check(r.returncode == 2 and "not a dump this converter knows" in r.stderr, r.stderr)
    check(not any(n.startswith("bad") or n.startswith(".convert-") for n in os.listdir(work)),
          f"files left behind: {os.listdir(work)}")
    print("PASS")


if __name__ == "__main__":
    main()
