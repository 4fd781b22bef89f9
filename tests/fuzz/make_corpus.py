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


if __name__ == "__main__":
    safetensors_seeds()
    hf_config_seeds()
