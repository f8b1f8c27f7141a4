"""Text for the tiny BERT: a deterministic word-level tokeniser, the pre-training corpus with every evaluation
sentence removed, and packing into fixed-length sequences.

Tokens are lower-cased words and single punctuation marks (`\\w+|[^\\w\\s]`); the vocabulary is [PAD] [UNK] [CLS]
[SEP] [MASK] followed by the `size` most frequent corpus tokens (ties broken alphabetically), so the same corpus always
gives the same ids. The corpus itself (which sources, which evaluation sentences leave it) is `corpus`'s job.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = range(len(SPECIAL))
_TOKEN = re.compile(r"\w+|[^\w\s]")


def is_word(ids):
    """Which ids (a tensor) stand for words of the text: every token but [PAD], [CLS], [SEP] and [MASK] — [UNK] is an
    out-of-vocabulary word, so MLM may select it and DropToken may drop it."""
    return (ids == UNK) | (ids >= len(SPECIAL))


def words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class Tokenizer:
    def __init__(self, vocab: list[str]):
        if tuple(vocab[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"vocab: must start with {SPECIAL}")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def build(cls, sentences: Iterable[str], size: int) -> Tokenizer:
        counts = Counter(w for s in sentences for w in words(s))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))[:size]
        return cls(list(SPECIAL) + ranked)

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, UNK) for w in words(text)]

    def batch(self, texts: Iterable[str], max_len: int) -> np.ndarray:
        """[CLS] tokens [SEP], truncated to max_len and padded with [PAD]: (N, max_len) int64."""
        rows = [[CLS, *self.encode(t)[: max_len - 2], SEP] for t in texts]
        out = np.full((len(rows), max_len), PAD, dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out


def sentence_key(text: str) -> tuple[str, ...]:
    """What two sentences must share to count as the same sentence: their lower-cased alphanumeric words, in order
    (punctuation and spacing ignored — an MPQA phrase equals an SST-2 sentence that adds only a full stop)."""
    return tuple(w for w in words(text) if w[0].isalnum() or w[0] == "_")


def without(sentences: list[str], evaluation: Iterable[str]) -> tuple[list[str], int]:
    """The sentences that equal no evaluation sentence (`sentence_key`), and how many were dropped."""
    banned = {sentence_key(s) for s in evaluation}
    kept = [s for s in sentences if sentence_key(s) not in banned]
    return kept, len(sentences) - len(kept)


def pack(sentences: Iterable[list[int]], max_len: int) -> np.ndarray:
    """Consecutive sentences packed greedily into [CLS] s₁ s₂ … [SEP] rows of at most max_len tokens (a sentence
    longer than max_len − 2 is cut), padded: (N, max_len) int64. Rows are stored as they fill, so a corpus of 10⁸
    words (WikiText-103) never exists as Python lists at once."""
    rows, current = [], []

    def close(row: list[int]) -> None:
        out = np.full(max_len, PAD, dtype=np.int32)
        out[: len(row) + 2] = [CLS, *row, SEP]
        rows.append(out)

    for ids in sentences:
        ids = ids[: max_len - 2]
        if current and len(current) + len(ids) > max_len - 2:
            close(current)
            current = []
        current = current + ids
    if current:
        close(current)
    return np.stack(rows).astype(np.int64) if rows else np.zeros((0, max_len), dtype=np.int64)
