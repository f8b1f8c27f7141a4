"""Parsers from the published file formats to arrays: gzipped IDX images/labels, `LABEL text` sentence files, raw
text corpora. Each checks what it reads and names the file when it is not what it should be.
"""

from __future__ import annotations

import gzip
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from kx_tasks.core.data.fetch import DataError


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (unsigned bytes), checking the header against the payload size."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable gzip file: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} = {int(np.prod(shape))} bytes, payload has {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def build_idx_images(files: dict[str, Path]) -> dict[str, np.ndarray]:
    out = {
        "x_train": read_idx(files["train_images"]),
        "y_train": read_idx(files["train_labels"]),
        "x_test": read_idx(files["test_images"]),
        "y_test": read_idx(files["test_labels"]),
    }
    for split in ("train", "test"):
        if len(out[f"x_{split}"]) != len(out[f"y_{split}"]):
            raise DataError(f"{split}: {len(out[f'x_{split}'])} images but {len(out[f'y_{split}'])} labels")
    return out


def read_label_lines(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    """Lines of the form `LABEL text`; returns (labels, texts)."""
    labels, texts = [], []
    for number, line in enumerate(path.read_text(encoding=encoding).splitlines(), 1):
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        if not text:
            raise DataError(f"{path}:{number}: expected 'LABEL text', got {line[:60]!r}")
        labels.append(label)
        texts.append(text.strip())
    return labels, texts


def build_sst2(files: dict[str, Path]) -> dict[str, np.ndarray]:
    out = {}
    for split in ("train", "dev", "test"):
        labels, texts = read_label_lines(files[split])
        out[f"text_{split}"] = np.array(texts)
        out[f"y_{split}"] = np.array([int(y) for y in labels], dtype=np.uint8)
    return out


def build_trec(files: dict[str, Path]) -> dict[str, np.ndarray]:
    # TREC is ISO-8859-1 (one non-ASCII byte in the training set), as published.
    out = {}
    split_labels = {}
    for split in ("train", "test"):
        labels, texts = read_label_lines(files[split], encoding="latin-1")
        split_labels[split] = [label.split(":")[0] for label in labels]
        out[f"text_{split}"] = np.array(texts)
        out[f"fine_{split}"] = np.array(labels)
    classes = sorted(set(split_labels["train"]))
    out["classes"] = np.array(classes)
    for split, labels in split_labels.items():
        out[f"y_{split}"] = np.array([classes.index(c) for c in labels], dtype=np.uint8)
    return out


def build_polarity(files: dict[str, Path], encoding: str = "utf-8") -> dict[str, np.ndarray]:
    """Two files of one sentence per line (`pos`, `neg`; CR, MPQA, MR, Subj with subjective as `pos`): every
    sentence with its label (1 pos, 0 neg). These sets have no official split (papers use 10-fold cross-validation),
    so they come as `text_all`/`y_all`."""
    texts, labels = [], []
    for label, role in ((1, "pos"), (0, "neg")):
        # split on "\n" only: str.splitlines would also cut at U+0085, which Latin-1's byte 0x85 decodes to (MR).
        lines = [t.strip() for t in files[role].read_text(encoding=encoding).split("\n") if t.strip()]
        texts += lines
        labels += [label] * len(lines)
    return {"text_all": np.array(texts), "y_all": np.array(labels, dtype=np.uint8)}


def build_polarity_latin1(files: dict[str, Path]) -> dict[str, np.ndarray]:
    # MR and Subj are Latin-1 bytes, as Pang & Lee published them.
    return build_polarity(files, encoding="latin-1")


WIKITEXT_MEMBERS = {"train": "wikitext-103/wiki.train.tokens", "test": "wikitext-103/wiki.test.tokens"}
WIKITEXT_LINES = {"train": 1_801_350, "test": 4_358}  # as published with the archive (and checked by torchtext)


def build_wikitext(files: dict[str, Path]) -> dict[str, np.ndarray]:
    """WikiText-103 (the tokenised v1 archive), its train and test members read from the zip, never extracted,
    kept as UTF-8 bytes (`text_train`, `text_test`); the line counts are checked against the published ones."""
    out = {}
    with zipfile.ZipFile(files["archive"]) as archive:
        for split, member in WIKITEXT_MEMBERS.items():
            try:
                data = archive.read(member)
            except KeyError as e:
                raise DataError(f"{files['archive']}: no member {member}") from e
            lines = data.count(b"\n") + (not data.endswith(b"\n"))
            if lines != WIKITEXT_LINES[split]:
                raise DataError(f"{files['archive']}:{member}: {lines} lines, expected {WIKITEXT_LINES[split]}")
            out[f"text_{split}"] = np.frombuffer(data, dtype=np.uint8).copy()
    return out


def build_text_corpus(files: dict[str, Path]) -> dict[str, np.ndarray]:
    # No official split; the usual convention (char-rnn, nanoGPT) is the first 90% for training.
    data = np.frombuffer(files["text"].read_bytes(), dtype=np.uint8)
    cut = int(0.9 * len(data))
    return {"text_train": data[:cut].copy(), "text_test": data[cut:].copy()}


CIFAR_MEMBERS = {"train": [f"data_batch_{k}.bin" for k in range(1, 6)], "test": ["test_batch.bin"]}
CIFAR_RECORD = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue 32x32 planes


def build_cifar10_binary(files: dict[str, Path]) -> dict[str, np.ndarray]:
    """CIFAR-10's binary version (cifar-10-binary.tar.gz, no pickles): members read by name from the archive, never
    extracted. Images come out (N, 3, 32, 32) uint8, channel-first as published."""
    out = {}
    try:
        with tarfile.open(files["archive"], "r:gz") as tar:
            for split, members in CIFAR_MEMBERS.items():
                raw = b"".join(tar.extractfile(f"cifar-10-batches-bin/{m}").read() for m in members)
                if len(raw) % CIFAR_RECORD:
                    raise DataError(f"{files['archive']}: {split} holds {len(raw)} bytes, not whole records")
                records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
                out[f"y_{split}"] = records[:, 0].copy()
                out[f"x_{split}"] = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    except (tarfile.TarError, KeyError, OSError, AttributeError) as e:
        raise DataError(f"{files['archive']}: not the CIFAR-10 binary archive ({e})") from None
    return out
