#!/usr/bin/env python3
"""Adversarial run folders and trees through the curebench CLI (docs/robustness.md): a real run folder made by
`eval` on two questions, each of its files truncated, bit-flipped or given wrong JSON types, then `report` on it
and `eval` resuming into it; `discover` on a tree with a link loop, a 200-deep folder and broken candidates;
`chat` with malformed message files. Usage: python3 tests/fuzz/cli_adversarial/runs.py build/bin/curebench /tmp/adv2"""
import json, os, random, shutil, subprocess, sys
CLI, OUT = sys.argv[1], sys.argv[2]
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.."))
random.seed(3)
os.makedirs(OUT, exist_ok=True)
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "common.py")).read())

# A real run folder: eval (loglikelihood, CPU) of stories260K on two val and two test questions.
val = open(f"{ROOT}/datasets/default/val.jsonl", "rb").read().splitlines()
tst = open(f"{ROOT}/datasets/default/test.jsonl", "rb").read().splitlines()
open(f"{OUT}/tiny_val.jsonl", "wb").write(b"\n".join(val[:2]) + b"\n")
open(f"{OUT}/tiny_test.jsonl", "wb").write(b"\n".join(tst[:2]) + b"\n")
cfg = json.load(open(f"{ROOT}/datasets/default/run.json"))
cfg["models"] = cfg["models"][:1]
cfg["models"][0]["path"] = f"{ROOT}/tests/data/models/stories260K/hf"
cfg["splits"] = {"val": f"{OUT}/tiny_val.jsonl", "test": f"{OUT}/tiny_test.jsonl"}
EVAL_CFG = f"{OUT}/run.json"
json.dump(cfg, open(EVAL_CFG, "w"))
RUN_OK = f"{OUT}/run_ok"
subprocess.run([CLI, "eval", "--config", EVAL_CFG, "--out", RUN_OK], check=True, capture_output=True)

files = [os.path.relpath(os.path.join(dp, f), RUN_OK) for dp, _, fs in os.walk(RUN_OK) for f in fs if not f.endswith((".png", ".svg"))]
print("run files:", files, flush=True)
for rel in files:
    data = open(os.path.join(RUN_OK, rel), "rb").read()
    variants = [("trunc%d" % t, data[:t]) for t in truncations(data)] + [("flip%d" % i, mutate_bytes(data)) for i in range(6)]
    if rel.endswith(".json"):
        try:
            j = json.loads(data)
            for k in list(j.keys())[:12]:
                for v in [None, 5, "x", [], {}, -1e308]:
                    jj = dict(j); jj[k] = v
                    variants.append((f"{k}_{json.dumps(v)[:6]}", json.dumps(jj).encode()))
        except Exception:
            pass
    for name, d in variants:
        dst = f"{OUT}/r_{rel.replace('/', '_')}_{name}"
        shutil.copytree(RUN_OK, dst, dirs_exist_ok=True)
        open(os.path.join(dst, rel), "wb").write(d)
        run(["report", dst], f"report:{rel}:{name}", timeout=120)
        if "samples" in rel or rel == "run_config.json":
            run(["eval", "--config", EVAL_CFG, "--out", dst],
                f"eval-resume:{rel}:{name}", timeout=180)

# discover trees
t = f"{OUT}/tree"; os.makedirs(t, exist_ok=True)
os.symlink(t, f"{t}/loop")
os.makedirs(f"{t}/noread"); open(f"{t}/noread/config.json", "w").write("{}"); os.chmod(f"{t}/noread", 0)
deep = t
for i in range(200): deep = os.path.join(deep, "d")
os.makedirs(deep, exist_ok=True)
open(f"{deep}/config.json", "w").write("{\"model_type\": \"llama\"}")
open(f"{t}/x.gguf", "wb").write(b"GGUF\xff\xff\xff\xff")
os.makedirs(f"{t}/bnb"); open(f"{t}/bnb/config.json", "w").write('{"quantization_config": 5}'); open(f"{t}/bnb/model.safetensors", "wb").write(b"\x01")
os.makedirs(f"{t}/\xe9t\xe9".encode("latin-1").decode("utf-8", "surrogateescape"), exist_ok=True)
run(["discover", t], "discover:text"); run(["discover", t, "--json"], "discover:json")

# chat messages
for name, raw in [("empty", b""), ("obj", b"{}"), ("badrole", b'[{"role":"wizard","content":"x"}]'), ("nocontent", b'[{"role":"user"}]'),
                  ("num", b'[{"role":"user","content":5}]'), ("deep", b"[" * 50000 + b"]" * 50000), ("utf8", b'[{"role":"user","content":"\xff"}]'),
                  ("huge", b'[{"role":"user","content":"' + b"a" * 3000000 + b'"}]')]:
    f = f"{OUT}/chat_{name}.json"; open(f, "wb").write(raw)
    run(["chat", "--model", f"{ROOT}/tests/data/models/stories260K/hf", "--messages", f], f"chat:{name}")
    run(["chat", "--model", f"{ROOT}/tests/data/models/stories260K/hf", "--messages", f, "--json"], f"chat-json:{name}")
report()
