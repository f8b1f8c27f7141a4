"""Synthetic stand-ins for the shake-down (`kx shakedown`): a dataset that is not on this machine becomes random
arrays of exactly its prepared shapes and dtypes, so the full-size models meet full-size inputs without a download.

SHAPES holds, per dataset, what `prepare` writes: each array's shape, dtype and (labels) range. The figures come from
the prepared files' own facts where kx has prepared them (MNIST, Fashion-MNIST, the Kim 2014 sets, Tiny
Shakespeare), from the published layout otherwise: CIFAR-10's binary version is 50,000 + 10,000 records of a label
byte and 3x32x32 pixels; WikiText-103's byte counts are approximate (the size Hugging Face publishes for the
wikitext-103-raw-v1 splits; the tokenised v1 files differ by a few per cent), since no copy was prepared here.

A stand-in's facts say `synthetic: true`; `load` refuses one outside a short run, so it can never feed a real result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kx_tasks.core.io import atomic_path

_DIGITS_28 = {  # MNIST and Fashion-MNIST share the IDX layout: 60k/10k 28x28 uint8 images, labels 0-9
    "x_train": ((60000, 28, 28), "uint8", None),
    "y_train": ((60000,), "uint8", (0, 9)),
    "x_test": ((10000, 28, 28), "uint8", None),
    "y_test": ((10000,), "uint8", (0, 9)),
}
SHAPES: dict[str, dict[str, tuple[tuple[int, ...], str, tuple[int, int] | None]]] = {
    "mnist": _DIGITS_28,
    "fashion_mnist": _DIGITS_28,
    "cifar10": {
        "x_train": ((50000, 3, 32, 32), "uint8", None),
        "y_train": ((50000,), "uint8", (0, 9)),
        "x_test": ((10000, 3, 32, 32), "uint8", None),
        "y_test": ((10000,), "uint8", (0, 9)),
    },
    "sst2": {
        "text_train": ((6920,), "<U283", None),
        "y_train": ((6920,), "uint8", (0, 1)),
        "text_dev": ((872,), "<U252", None),
        "y_dev": ((872,), "uint8", (0, 1)),
        "text_test": ((1821,), "<U256", None),
        "y_test": ((1821,), "uint8", (0, 1)),
    },
    "trec": {
        "text_train": ((5452,), "<U196", None),
        "y_train": ((5452,), "uint8", (0, 5)),
        "text_test": ((500,), "<U91", None),
        "y_test": ((500,), "uint8", (0, 5)),
        "fine_train": ((5452,), "<U14", None),
        "fine_test": ((500,), "<U14", None),
        "classes": ((6,), "<U4", None),
    },
    "cr": {"text_all": ((3771,), "<U535", None), "y_all": ((3771,), "uint8", (0, 1))},
    "mpqa": {"text_all": ((10603,), "<U242", None), "y_all": ((10603,), "uint8", (0, 1))},
    "mr": {"text_all": ((10662,), "<U267", None), "y_all": ((10662,), "uint8", (0, 1))},
    "subj": {"text_all": ((10000,), "<U691", None), "y_all": ((10000,), "uint8", (0, 1))},
    "tinyshakespeare": {"text_train": ((1003854,), "uint8", None), "text_test": ((111540,), "uint8", None)},
    "wikitext103": {"text_train": ((546500949,), "uint8", None), "text_test": ((1305088,), "uint8", None)},
}

_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """`n` pseudo-words of 1 to 9 letters (a vocabulary for the text stand-ins)."""
    return ["".join(chr(c) for c in rng.choice(_LETTERS, rng.integers(1, 10))) for _ in range(n)]


def _sentences(rng: np.random.Generator, count: int, dtype: str, vocab: list[str]) -> np.ndarray:
    width = int(dtype[2:])
    texts = []
    for _ in range(count):
        words = rng.choice(vocab, rng.integers(3, 30))
        texts.append(" ".join(words)[:width])
    return np.array(texts, dtype=dtype)


def _corpus(rng: np.random.Generator, length: int, vocab: list[str]) -> np.ndarray:
    """`length` bytes of lines of pseudo-words (a 1 MB block of them, repeated)."""
    lines = [" ".join(rng.choice(vocab, rng.integers(5, 40))) for _ in range(6000)]
    block = np.frombuffer("\n".join(lines).encode("ascii") + b"\n", dtype=np.uint8)
    return np.resize(block, length)


def arrays(name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays of dataset `name`'s prepared shapes and dtypes; every label of a range appears."""
    rng = np.random.default_rng(seed)
    vocab = _words(rng, 5000)
    out = {}
    for key, (shape, dtype, labels) in SHAPES[name].items():
        if labels is not None:
            lo, hi = labels
            out[key] = rng.permutation(np.arange(shape[0]) % (hi - lo + 1) + lo).astype(dtype)
        elif dtype.startswith("<U"):
            out[key] = _sentences(rng, shape[0], dtype, vocab)
        elif len(shape) == 1:
            out[key] = _corpus(rng, shape[0], vocab)
        else:
            out[key] = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return out


def write(name: str, out: str | Path, facts_of) -> Path:
    """A synthetic stand-in for dataset `name` at `out` (.npz), with facts as `prepare` writes them plus
    `synthetic: true`. facts_of: the catalogue's function (passed in, so this module does not import it)."""
    data = arrays(name)
    facts = json.dumps({"dataset": name, "synthetic": True, "arrays": facts_of(data)}, sort_keys=True)
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez(tmp, **data, kx_facts=np.array(facts))
    return Path(out)
