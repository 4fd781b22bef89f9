#!/usr/bin/env python3
"""Adversarial files through the curebench CLI (docs/robustness.md): mutations of the project's real files
(checkpoint folders, sharded index, GGUF, llama2.c, tokenizer.model, dataset JSONL, eval configs) fed to
inspect / load / generate / tokenize / verify / extract / eval. Prints every finding (common.py says what
counts). Usage: python3 tests/fuzz/cli_adversarial/inputs.py build/bin/curebench /tmp/adv [SEED=n in env]"""
import json, os, random, shutil, struct, subprocess, sys

CLI, OUT = sys.argv[1], sys.argv[2]
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.."))
random.seed(int(os.environ.get("SEED", "1")))
os.makedirs(OUT, exist_ok=True)
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "common.py")).read())

# ---- A: safetensors checkpoint directories
def model_cases():
    src = f"{ROOT}/tests/data/model/llama"
    st = open(f"{src}/model.safetensors", "rb").read()
    hlen = struct.unpack("<Q", st[:8])[0]
    header = json.loads(st[8:8+hlen])
    cases = []
    for t in truncations(st): cases.append((f"trunc{t}", st[:t], None))
    for i in range(40): cases.append((f"flip{i}", mutate_bytes(st[:8+hlen]) + st[8+hlen:], None))
    for v in [0, 1, 2**60, 2**64-1, len(st), len(st) - 8, hlen - 1, hlen + 1]:
        cases.append((f"hlen{v}", struct.pack("<Q", v) + st[8:], None))
    def with_header(h):
        hb = json.dumps(h).encode()
        pad = (8 - len(hb) % 8) % 8
        hb += b" " * pad
        return struct.pack("<Q", len(hb)) + hb + st[8+hlen:]
    names = [k for k in header if k != "__metadata__"]
    for i, mut in enumerate([
        lambda h, k: h[k].update(dtype="BOGUS"), lambda h, k: h[k].update(dtype="F8_E4M3"),
        lambda h, k: h[k].update(dtype="I64"), lambda h, k: h[k].update(shape=[10**18]),
        lambda h, k: h[k].update(shape=[-1, 4]), lambda h, k: h[k].update(shape=[]),
        lambda h, k: h[k].update(shape="abc"), lambda h, k: h[k].update(data_offsets=[0, 10**15]),
        lambda h, k: h[k].update(data_offsets=[100, 50]), lambda h, k: h[k].update(data_offsets=[0]),
        lambda h, k: h[k].update(data_offsets=[-8, 8]), lambda h, k: h[k].update(data_offsets=[1.5, 2]),
        lambda h, k: h.pop(k), lambda h, k: h.update({k + "x": h[k]}),
        lambda h, k: h.update(__metadata__={"a": [1, 2]}), lambda h, k: h.update(__metadata__=5),
        lambda h, k: h[k].update(shape=[2**31, 2**31]), lambda h, k: h.update({k: None}),
        lambda h, k: h[k].update(data_offsets=[0, 0]), lambda h, k: h[k].update(shape=[0]),
    ]):
        for k in random.sample(names, 2):
            h = json.loads(json.dumps(header))
            mut(h, k)
            cases.append((f"hdr{i}_{k}", with_header(h), None))
    cfg = json.load(open(f"{src}/config.json"))
    cfg_muts = []
    for key in ["hidden_size", "num_attention_heads", "num_key_value_heads", "num_hidden_layers", "vocab_size",
                "intermediate_size", "rms_norm_eps", "rope_theta", "max_position_embeddings", "head_dim", "model_type",
                "architectures", "torch_dtype", "rope_scaling", "tie_word_embeddings", "eos_token_id", "bos_token_id"]:
        for v in [None, "abc", -1, 0, 3.5, 10**12, 1e308, [], {}, True, [1, 2], {"rope_type": "yarn", "factor": -1}]:
            c = dict(cfg); c[key] = v
            cfg_muts.append((f"cfg_{key}_{json.dumps(v)[:12]}", json.dumps(c).encode()))
        c = dict(cfg); c.pop(key, None)
        cfg_muts.append((f"cfg_no_{key}", json.dumps(c).encode()))
    for raw in [b"", b"{", b"[]", b"null", b"{\"a\":" * 5000, b"\xef\xbb\xbf{}", b"{}garbage", b"\xff\xfe\x00"]:
        cfg_muts.append((f"cfgraw{len(cfg_muts)}", raw))
    for name, data, _ in cases:
        d = f"{OUT}/m_{name}"
        shutil.copytree(src, d, dirs_exist_ok=True)
        open(f"{d}/model.safetensors", "wb").write(data)
        yield d, name
    for name, data in cfg_muts:
        d = f"{OUT}/m_{name}"
        shutil.copytree(src, d, dirs_exist_ok=True)
        open(f"{d}/config.json", "wb").write(data)
        yield d, name
    for name, data in [("gen_garbage", b"{\"eos_token_id\": \"x\"}"), ("gen_huge", b"{\"eos_token_id\": [99999999999]}"),
                       ("gen_neg", b"{\"eos_token_id\": -5, \"max_new_tokens\": -1}"), ("gen_trunc", b"{\"eos")]:
        d = f"{OUT}/m_{name}"
        shutil.copytree(src, d, dirs_exist_ok=True)
        open(f"{d}/generation_config.json", "wb").write(data)
        yield d, name

def sharded_cases():
    src = f"{ROOT}/tests/data/model/llama3_rope_tied_sharded"
    idx = json.load(open(f"{src}/model.safetensors.index.json"))
    wm = idx["weight_map"]
    k0 = next(iter(wm))
    for i, mut in enumerate([
        lambda j: j["weight_map"].update({k0: "../../../../etc/passwd"}), lambda j: j["weight_map"].update({k0: "/etc/passwd"}),
        lambda j: j["weight_map"].update({k0: "missing.safetensors"}), lambda j: j["weight_map"].update({k0: 5}),
        lambda j: j["weight_map"].update({k0: ""}), lambda j: j["weight_map"].update({k0: "."}),
        lambda j: j.update(weight_map=[]), lambda j: j.pop("weight_map"), lambda j: j["weight_map"].pop(k0),
        lambda j: j["weight_map"].update({k0: "x" * 5000}), lambda j: j["weight_map"].update({"extra.weight": wm[k0]}),
    ]):
        j = json.loads(json.dumps(idx)); mut(j)
        d = f"{OUT}/s_idx{i}"
        shutil.copytree(src, d, dirs_exist_ok=True)
        open(f"{d}/model.safetensors.index.json", "w").write(json.dumps(j))
        yield d, f"idx{i}"
    d = f"{OUT}/s_shard_dir"
    shutil.copytree(src, d, dirs_exist_ok=True)
    os.remove(f"{d}/model-00002-of-00002.safetensors"); os.mkdir(f"{d}/model-00002-of-00002.safetensors")
    yield d, "shard_is_dir"
    d = f"{OUT}/s_shard_unreadable"
    shutil.copytree(src, d, dirs_exist_ok=True)
    os.chmod(f"{d}/model-00001-of-00002.safetensors", 0)
    yield d, "shard_unreadable"
    d = f"{OUT}/s_symloop"
    shutil.copytree(src, d, dirs_exist_ok=True)
    os.remove(f"{d}/model-00002-of-00002.safetensors"); os.symlink("model-00002-of-00002.safetensors", f"{d}/model-00002-of-00002.safetensors")
    yield d, "shard_symlink_loop"

for d, name in list(model_cases()) + list(sharded_cases()):
    run(["inspect", d, "--json"], f"inspect:{name}")
    run(["load", "--model", d, "--json"], f"load:{name}")
    run(["generate", "--model", d, "--prompt-ids", "1,2,3", "--max-new-tokens", "2"], f"generate:{name}")

# ---- B: GGUF
g = open(f"{ROOT}/tests/data/models/stories260K/stories260K.gguf", "rb").read()
gcases = [(f"trunc{t}", g[:t]) for t in truncations(g)]
for i in range(60): gcases.append((f"flip{i}", mutate_bytes(g[:4096], random.randint(1, 4)) + g[4096:]))
for i in range(20): gcases.append((f"flipdeep{i}", mutate_bytes(g)))
for name, data in gcases:
    f = f"{OUT}/g_{name}.gguf"
    open(f, "wb").write(data)
    run(["inspect", f, "--json"], f"gguf-inspect:{name}")
    run(["tokenize", "--tokenizer", f, "--text", "Once upon a time \xff", "--json"], f"gguf-tok:{name}")
    run(["generate", "--model", f, "--prompt-ids", "1,403", "--max-new-tokens", "2"], f"gguf-gen:{name}")

# ---- C: llama2c bins
for fn in ["tok512.bin", "stories260K.bin"]:
    b = open(f"{ROOT}/tests/data/models/stories260K/{fn}", "rb").read()
    for i, data in enumerate([b[:t] for t in truncations(b)] + [mutate_bytes(b[:256]) + b[256:] for _ in range(20)]):
        f = f"{OUT}/l_{i}_{fn}"
        open(f, "wb").write(data)
        if fn.startswith("tok"):
            run(["tokenize", "--tokenizer", f, "--text", "hello world", "--json"], f"l2c-tok:{i}")
        else:
            run(["generate", "--model", f, "--prompt-ids", "1,403", "--max-new-tokens", "2"], f"l2c-gen:{i}")
            run(["inspect", f, "--json"], f"l2c-inspect:{i}")

# ---- D: tokenizer.model (SentencePiece protobuf)
spm = open(f"{ROOT}/tests/data/tokenizer/spm/tiny_bpe.model", "rb").read()
for i, data in enumerate([spm[:t] for t in truncations(spm)] + [mutate_bytes(spm) for _ in range(40)]):
    d = f"{OUT}/spm{i}"; os.makedirs(d, exist_ok=True)
    open(f"{d}/tokenizer.model", "wb").write(data)
    run(["tokenize", "--tokenizer", f"{d}/tokenizer.model", "--text", "hello wörld", "--json"], f"spm:{i}")

print(f"{count} runs (phase 1), {len(findings)} findings so far", flush=True)

# ---- E: datasets (verify + extract)
val = open(f"{ROOT}/datasets/default/val.jsonl", "rb").read().splitlines()
rec = json.loads(val[0])
dcases = []
for k in list(rec.keys()):
    for v in [None, 5, "", [], {}, "x" * 100000, [1, [2]], {"A": {"B": 1}}, True, -1.5e308]:
        r = dict(rec); r[k] = v
        dcases.append((f"{k}_{json.dumps(v)[:10]}", json.dumps(r).encode()))
    r = dict(rec); r.pop(k)
    dcases.append((f"no_{k}", json.dumps(r).encode()))
for raw in [b"", b"\n\n", b"{", b"[1,2]", b"\xef\xbb\xbf" + val[0], val[0] + b"\r", b"\x00" * 100, b"{}" * 3,
            val[0][:-1], b"\xff\xfe" + val[0], (b"[" * 100000) + (b"]" * 100000), val[0] + b"\n" + val[0]]:
    dcases.append((f"raw{len(dcases)}", raw))
for name, line in dcases:
    f = f"{OUT}/d_{name.replace('/', '_')}.jsonl"
    open(f, "wb").write(b"\n".join([line] + val[1:3]) + b"\n")
    run(["verify", f"val={f}", f"test={ROOT}/datasets/default/test.jsonl", "--json"], f"verify:{name}")
    run(["extract", "--jsonl", f], f"extract:{name}")

# ---- F: eval configs (small, loglikelihood on CPU)
base = json.load(open(f"{ROOT}/datasets/default/run.json"))
base["models"] = base["models"][:1]
base["models"][0]["path"] = f"{ROOT}/tests/data/models/stories260K/hf"
base["splits"] = {"val": f"{OUT}/tiny_val.jsonl", "test": f"{OUT}/tiny_test.jsonl"}
open(f"{OUT}/tiny_val.jsonl", "wb").write(b"\n".join(val[:2]) + b"\n")
tst = open(f"{ROOT}/datasets/default/test.jsonl", "rb").read().splitlines()
open(f"{OUT}/tiny_test.jsonl", "wb").write(b"\n".join(tst[:2]) + b"\n")
ecases = [("ok", base)]
for key, vals in [("protocol", ["nope", 5, None]), ("max_new_tokens", [-1, 0, 10**12, "x"]), ("batch_size", [0, -3, 10**9, 2.5]),
                  ("models", [[], {}, None, [5], [{}]]), ("splits", [{}, None, {"val": 5}, {"val": "/nonexistent"}])]:
    for v in vals:
        c = json.loads(json.dumps(base)); c[key] = v
        ecases.append((f"{key}_{json.dumps(v)[:10]}", c))
for key, vals in [("mode", ["x", None]), ("quant", ["nf9", 4]), ("device", ["tpu", "cuda:99"]), ("dtype", ["f128", None]),
                  ("path", ["/nonexistent", "", 5, "/etc"]), ("name", ["", "../../x", "a/b", None])]:
    for v in vals:
        c = json.loads(json.dumps(base)); c["models"][0][key] = v
        ecases.append((f"model_{key}_{json.dumps(v)[:10]}", c))
for name, c in ecases:
    f = f"{OUT}/e_{name.replace('/', '_')}.json"
    open(f, "w").write(json.dumps(c))
    run(["eval", "--config", f, "--out", f"{OUT}/run_{name.replace('/', '_')}"], f"eval:{name}", timeout=120)

report()
