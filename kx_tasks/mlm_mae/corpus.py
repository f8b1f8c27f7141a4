"""The datasets of the mlm_mae task: the pre-training corpus (by default Tiny Shakespeare lines, CR, MPQA, SST-2 and
TREC training sentences; in the paper setting WikiText-103) minus every evaluation sentence of the held-out sets,
and the six fine-tuning sets: SST-2's official split, TREC with a fixed 500-question dev split from its training set,
and MR, CR, Subj, MPQA (no official split) by 10-fold cross-validation with a fixed dev tenth of each training part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.data import load
from kx_tasks.mlm_mae.text import without

SETS = ("sst2", "trec", "mr", "cr", "subj", "mpqa")  # the fine-tuning sets (Kim 2014's sentence sets but SST-1)
CV_SETS = ("mr", "cr", "subj", "mpqa")  # no official split: every sentence is a test sentence in one fold
# Pre-training sources; sst2 and trec give their training sentences only (TREC's without the dev split). MR and
# Subj never: about 79% of SST-2's test sentences occur verbatim in MR, hundreds in Subj.
PARTS = ("tinyshakespeare", "wikitext103", "cr", "mpqa", "sst2", "trec")
# Labelled sentences of each prepared set (its training split for SST-2 and TREC, all of it for the CV sets): the
# prepared files' counts (MR and Subj: Kim 2014, Table 1), for the checks before any job.
SENTENCES = {"sst2": 6920, "trec": 5452, "mr": 10662, "cr": 3771, "subj": 10000, "mpqa": 10603}
SPLIT_SEED = 20_211_129  # the post's date: one fixed TREC dev split and one fold assignment for every run
TREC_DEV = 500


def datasets_of(params) -> tuple[str, ...]:
    """The datasets a pre-training build reads: its corpus parts and its held-out sets (Artefact.datasets_from)."""
    return tuple(dict.fromkeys((*params.corpus, *params.held_out)))


def training_sentences(name: str, folds: int) -> int:
    """Sentences a fine-tuning run trains on (the smallest fold's for a CV set), as the splits below make them."""
    n = SENTENCES[name]
    if name == "trec":
        return n - TREC_DEV
    if name in CV_SETS:
        rest = n - -(-n // folds)
        return rest - rest // 10
    return n


def trec_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, dev) of TREC's training set: a fixed random 500 for dev."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[TREC_DEV:]), np.sort(order[:TREC_DEV])


def cv_split(n: int, folds: int, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (train, dev, test) of fold `fold` of `folds`: a fixed random assignment of the n sentences to folds,
    the fold's sentences as test, a fixed random tenth of the rest as dev."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    test = np.sort(order[fold::folds])
    rest = np.setdiff1d(np.arange(n), test)
    rest = np.random.default_rng(SPLIT_SEED + 1 + fold).permutation(rest)
    dev_size = len(rest) // 10
    return np.sort(rest[dev_size:]), np.sort(rest[:dev_size]), test


Split = dict[str, tuple[list[str], np.ndarray]]  # split ("train", "dev", "test") -> (texts, labels)


def finetune_splits(path: Path, name: str, folds: int = 10) -> list[Split]:
    """The train/dev/test splits of one fine-tuning set: one for SST-2 and TREC, one per fold for the CV sets."""
    data = load(path)
    if name == "sst2":
        return [{s: (list(data[f"text_{s}"]), data[f"y_{s}"]) for s in ("train", "dev", "test")}]
    if name == "trec":
        train, dev = trec_split(len(data["text_train"]))
        return [
            {
                "train": (list(data["text_train"][train]), data["y_train"][train]),
                "dev": (list(data["text_train"][dev]), data["y_train"][dev]),
                "test": (list(data["text_test"]), data["y_test"]),
            }
        ]
    if name not in CV_SETS:
        raise ValueError(f"{name}: not a fine-tuning set (known: {', '.join(SETS)})")
    texts, labels = data["text_all"], data["y_all"]
    out = []
    for fold in range(folds):
        parts = cv_split(len(texts), folds, fold)
        out.append({s: (list(texts[i]), labels[i]) for s, i in zip(("train", "dev", "test"), parts, strict=True)})
    return out


def evaluation_sentences(path: Path, name: str) -> list[str]:
    """Every sentence a fine-tuning run of `name` evaluates on: SST-2's dev and test, TREC's dev split and test,
    and all of a CV set (each sentence is a test sentence in one fold)."""
    if name in CV_SETS:
        return list(load(path)["text_all"])
    split = finetune_splits(path, name)[0]
    return split["dev"][0] + split["test"][0]


def wikitext_sentences(raw: bytes) -> list[str]:
    """WikiText-103's paragraphs cut into sentences at its tokenised full stops (" . "); headings (" = … = ") and
    blank lines are left out."""
    out = []
    for line in raw.decode("utf-8").split("\n"):
        line = line.strip()
        if not line or line.startswith("="):
            continue
        pieces = line.split(" . ")
        out += [p + " ." for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1].strip() else [])
    return out


def part_sentences(name: str, path: Path) -> list[str]:
    """The sentences one corpus part gives to pre-training (before evaluation sentences are removed)."""
    if name == "tinyshakespeare":
        return [s for s in bytes(load(path)["text_train"]).decode("utf-8").splitlines() if s.strip()]
    if name == "wikitext103":
        return wikitext_sentences(bytes(load(path)["text_train"]))
    if name in ("sst2", "trec"):
        return finetune_splits(path, name)[0]["train"][0]
    return list(load(path)["text_all"])


def pretraining(inputs: dict[str, Path], parts: tuple[str, ...], held_out: tuple[str, ...]) -> tuple[list[str], dict]:
    """The pre-training sentences and what was dropped: every sentence equal (as a token sequence) to an evaluation
    sentence of a held-out set leaves the corpus; the counts kept and dropped per part are recorded."""
    evaluation = [t for name in held_out for t in evaluation_sentences(inputs[name], name)]
    sentences, facts = [], {"held_out": list(held_out)}
    for name in parts:
        kept, dropped = without(part_sentences(name, inputs[name]), evaluation)
        key = f"{name}_train" if name in ("sst2", "trec") else name
        sentences += kept
        facts[f"corpus.{key}"] = len(kept)
        facts[f"dropped.{key}"] = dropped
    return sentences, facts
