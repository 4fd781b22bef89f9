#!/usr/bin/env python3
"""Files that are not regular files, or that the user may not read, in every place the CLI takes a path
(docs/robustness.md): a FIFO nobody writes to (must not hang), /dev/zero and /dev/urandom (endless), /dev/null,
a folder where a file belongs, an empty file, a dangling link, a name that is not UTF-8 or holds a newline, a
sparse file claiming a terabyte, and every input made unreadable, run as `nobody` when this user is root.
Usage: python3 tests/fuzz/cli_adversarial/special_files.py build/bin/curebench /tmp/adv3"""
import json, os, shutil, stat, subprocess, sys

CLI, OUT = os.path.abspath(sys.argv[1]), sys.argv[2]
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.."))
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
os.chmod(OUT, 0o755)
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "common.py")).read())

MODEL = f"{ROOT}/tests/data/models/stories260K/hf"
TOK = f"{ROOT}/tests/data/models/stories260K/tok512.bin"
GGUF = f"{ROOT}/tests/data/models/stories260K/stories260K.gguf"
VAL = f"{ROOT}/datasets/default/val.jsonl"
TEST = f"{ROOT}/datasets/default/test.jsonl"

# One special thing per kind, made once.
fifo = f"{OUT}/fifo"; os.mkfifo(fifo)
folder = f"{OUT}/a_folder"; os.makedirs(folder)
empty = f"{OUT}/empty"; open(empty, "wb").close()
dangling = f"{OUT}/dangling"; os.symlink(f"{OUT}/nowhere", dangling)
weird = os.fsdecode(b"%s/caf\xe9\nname" % os.fsencode(OUT)); shutil.copy(VAL, weird)
sparse = f"{OUT}/sparse.bin"
with open(sparse, "wb") as f: f.truncate(1 << 40)
SPECIAL = {"fifo": fifo, "dev_zero": "/dev/zero", "dev_urandom": "/dev/urandom", "dev_null": "/dev/null",
           "folder": folder, "empty": empty, "dangling": dangling, "sparse_1TiB": sparse}

def commands(p):
    """Every subcommand with the path p in its file argument."""
    return [
        ("inspect", ["inspect", p, "--json"]),
        ("load", ["load", "--model", p, "--json"]),
        ("generate", ["generate", "--model", p, "--prompt-ids", "1,2", "--max-new-tokens", "2"]),
        ("quantize", ["quantize", "--model", p, "--quant", "nf4", "--json"]),
        ("tokenize", ["tokenize", "--tokenizer", p, "--text", "hi", "--json"]),
        ("tokenize_jsonl", ["tokenize", "--tokenizer", TOK, "--jsonl", p]),
        ("extract", ["extract", "--jsonl", p, "--json"]),
        ("verify", ["verify", f"val={p}", f"test={TEST}", "--json"]),
        ("eval_config", ["eval", "--config", p, "--out", f"{OUT}/run_never"]),
        ("report", ["report", p, "--json"]),
        ("discover", ["discover", p, "--json"]),
        ("chat", ["chat", "--model", MODEL, "--messages", p, "--json"]),
    ]

# 1. The special thing itself as the argument.
for kind, p in SPECIAL.items():
    for name, args in commands(p):
        run(args, f"{name}:{kind}", timeout=30)
for name, args in commands(weird):
    run(args, f"{name}:non_utf8_newline_name", timeout=30)

# 2. The special thing inside a model folder, in place of each file the readers open.
for member in ["config.json", "model.safetensors", "generation_config.json", "tok512.bin"]:
    for kind, p in SPECIAL.items():
        d = f"{OUT}/m_{member}_{kind}"
        shutil.copytree(MODEL, d, symlinks=True)
        target = f"{d}/{member}"
        if os.path.lexists(target): os.remove(target)
        if kind == "folder": os.makedirs(target)
        elif kind == "fifo": os.mkfifo(target)
        elif kind == "empty": open(target, "wb").close()
        else: os.symlink(p, target)
        for name, args in commands(d)[:5]:
            run(args, f"{name}:{member}={kind}", timeout=30)

# 3. A safetensors header that fits a 1 TiB sparse file: a config for a huge model whose tensors all lie
# inside the file. Loading must refuse or fail as out-of-memory, never crash.
d = f"{OUT}/m_huge_sparse"; os.makedirs(d)
cfg = json.load(open(f"{MODEL}/config.json"))
cfg.update(vocab_size=1 << 22, hidden_size=1 << 15, intermediate_size=1 << 15, num_hidden_layers=1,
           num_attention_heads=256, num_key_value_heads=256, tie_word_embeddings=True, torch_dtype="float32")
cfg.pop("head_dim", None)
json.dump(cfg, open(f"{d}/config.json", "w"))
H, V, I = 1 << 15, 1 << 22, 1 << 15
shapes = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H],
          "model.layers.0.input_layernorm.weight": [H], "model.layers.0.post_attention_layernorm.weight": [H]}
for p in ["q", "k", "v", "o"]: shapes[f"model.layers.0.self_attn.{p}_proj.weight"] = [H, H]
for p in ["gate", "up"]: shapes[f"model.layers.0.mlp.{p}_proj.weight"] = [I, H]
shapes["model.layers.0.mlp.down_proj.weight"] = [H, I]
header, off = {}, 0
for k, s in shapes.items():
    n = 4
    for x in s: n *= x
    header[k] = {"dtype": "F32", "shape": s, "data_offsets": [off, off + n]}
    off += n
hb = json.dumps(header).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
with open(f"{d}/model.safetensors", "wb") as f:
    f.write(len(hb).to_bytes(8, "little") + hb)
    f.truncate(8 + len(hb) + off)
for name in ["tok512.bin", "generation_config.json"]:
    if os.path.exists(f"{MODEL}/{name}"): shutil.copy(f"{MODEL}/{name}", d)
for name, args in commands(d)[:4]:
    run(args, f"{name}:huge_sparse_{off >> 30}GiB", timeout=120)

# 4. Unreadable inputs (mode 0 file, mode 0 folder), run as nobody when we are root (root reads anything).
as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
def run_as(args, tag, timeout=30):
    global CLI
    saved = CLI
    if as_user:
        CLI = as_user[0]
        args = as_user[1:] + [saved] + args
    try:
        run(args, tag, timeout)
    finally:
        CLI = saved
locked = f"{OUT}/locked"; os.makedirs(locked); os.chmod(locked, 0o755)
for src, name in [(MODEL, "model_dir"), (TOK, "tok512.bin"), (GGUF, "model.gguf"), (VAL, "val.jsonl")]:
    dst = f"{locked}/{name}"
    (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
for root_, dirs, files in os.walk(locked):
    for x in dirs: os.chmod(os.path.join(root_, x), 0o755)
    for x in files: os.chmod(os.path.join(root_, x), 0o644)
# A readable folder with one unreadable member, then an unreadable file, then an unreadable folder.
for member in ["config.json", "model.safetensors", "tok512.bin"]:
    d = f"{OUT}/u_{member}"; shutil.copytree(f"{locked}/model_dir", d)
    os.chmod(d, 0o755)
    for x in os.listdir(d): os.chmod(f"{d}/{x}", 0o644)
    os.chmod(f"{d}/{member}", 0)
    for name, args in commands(d)[:5]:
        run_as(args, f"{name}:unreadable_{member}")
for name in ["tok512.bin", "model.gguf", "val.jsonl"]:
    os.chmod(f"{locked}/{name}", 0)
    for cname, args in commands(f"{locked}/{name}"):
        run_as(args, f"{cname}:unreadable_{name}")
os.chmod(f"{locked}/model_dir", 0)
for cname, args in commands(f"{locked}/model_dir"):
    run_as(args, f"{cname}:unreadable_folder")
# An output folder we may not write: eval and report must refuse with error[io], write nothing half.
cfg = json.load(open(f"{ROOT}/datasets/default/run.json"))
cfg["models"] = cfg["models"][:1]; cfg["models"][0]["path"] = MODEL
tiny = f"{OUT}/tiny.jsonl"; open(tiny, "wb").write(b"\n".join(open(VAL, "rb").read().splitlines()[:2]) + b"\n")
os.chmod(tiny, 0o644)
cfg["splits"] = {"val": tiny}
json.dump(cfg, open(f"{OUT}/run.json", "w")); os.chmod(f"{OUT}/run.json", 0o644)
ro = f"{OUT}/readonly_out"; os.makedirs(ro); os.chmod(ro, 0o555)
run_as(["eval", "--config", f"{OUT}/run.json", "--out", f"{ro}/run"], "eval:out_not_writable", timeout=120)
run_as(["eval", "--config", f"{OUT}/run.json", "--out", ro], "eval:out_is_readonly_folder", timeout=120)
run(["eval", "--config", f"{OUT}/run.json", "--out", fifo], "eval:out_is_fifo", timeout=120)
run(["eval", "--config", f"{OUT}/run.json", "--out", "/dev/null"], "eval:out_is_dev_null", timeout=120)

# 5. A real run folder with each of its files replaced by a FIFO, then by a folder: `report` on it and `eval`
# resuming into it.
run_ok = f"{OUT}/run_ok"
subprocess.run([CLI, "eval", "--config", f"{OUT}/run.json", "--out", run_ok], check=True, capture_output=True)
members = [os.path.relpath(os.path.join(dp, f), run_ok) for dp, _, fs in os.walk(run_ok) for f in fs]
for rel in members:
    for kind in ["fifo", "folder"]:
        d = f"{OUT}/r_{rel.replace('/', '_')}_{kind}"
        shutil.copytree(run_ok, d)
        os.remove(f"{d}/{rel}")
        os.mkfifo(f"{d}/{rel}") if kind == "fifo" else os.makedirs(f"{d}/{rel}")
        run(["report", d, "--json"], f"report:{rel}={kind}", timeout=60)
        run(["eval", "--config", f"{OUT}/run.json", "--out", d], f"eval-resume:{rel}={kind}", timeout=120)
report()
