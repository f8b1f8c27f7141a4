"""Fine-tuning the pre-trained tiny BERT on SST-2 or TREC, on the shared engine: [CLS] classifier, AdamW with linear
decay (a schedule of the engine's global step), optional DropToken on the training batches (never at evaluation),
optional embedding correction applied to the fine-tuning copy of the input embedding before the first step. Dev and
test accuracy after every epoch (evaluation, not training time); the engine's progress, checkpoints and non-finite
stop.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kx_tasks.core.engine import Loop, fit, step_schedule
from kx_tasks.core.io import read_json
from kx_tasks.mlm_mae import text
from kx_tasks.mlm_mae.bert import Classifier, Encoder
from kx_tasks.mlm_mae.corruption import corrected_embedding, drop_tokens, random_ids


def load_encoder(folder: Path, device, dropout: float) -> tuple[Encoder, text.Tokenizer, dict]:
    facts = read_json(folder / "bert.json")
    tok = text.Tokenizer(read_json(folder / "vocab.json"))
    encoder = Encoder(
        len(tok), facts["dim"], facts["layers"], facts["heads"], facts["ffn"], facts["max_len"], dropout=dropout
    )
    encoder.load_state_dict(torch.load(folder / "encoder.pt", map_location=device, weights_only=True))
    return encoder.to(device), tok, facts


def correct(encoder: Encoder, ratio: float) -> None:
    """The post's correction on the input embedding (in place): every row its expectation under the corruption."""
    with torch.no_grad():
        e = encoder.tokens.weight
        replacements = random_ids(e.shape[0], e.device)
        e.copy_(corrected_embedding(e, text.MASK, replacements, ratio))


def grouped_by_length(lengths: torch.Tensor, batch: int, gen: torch.Generator, mega: int = 50) -> list[torch.Tensor]:
    """Random batches of similar lengths (Hugging Face's `group_by_length`): shuffle, cut into mega-batches of
    `mega` batches, sort each by length, cut into batches, shuffle the batches. Every index once per epoch (the
    remainder of the last batch is dropped); padding per batch falls ~2× on SST-2 (mean 23 tokens, batch maxima ~50)."""
    order = torch.randperm(len(lengths), generator=gen, device=lengths.device)
    size = mega * batch
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    chunks = [c[lengths[c].argsort(descending=True, stable=True)] for c in chunks]
    flat = torch.cat(chunks)
    out = [flat[i : i + batch] for i in range(0, len(flat) - batch + 1, batch)]
    shuffle = torch.randperm(len(out), generator=gen, device=lengths.device).tolist()
    return [out[i] for i in shuffle]


def trim(ids: torch.Tensor) -> torch.Tensor:
    """Drop the columns that are padding in every row."""
    return ids[:, : int((ids != text.PAD).sum(1).max())]


@torch.no_grad()
def accuracy(model: Classifier, ids: torch.Tensor, labels: torch.Tensor, batch: int = 256) -> float:
    """Accuracy over every sentence, in batches of similar length (no dropping at evaluation)."""
    model.eval()
    order = (ids != text.PAD).sum(1).argsort(stable=True)
    hits = 0
    for i in range(0, len(ids), batch):
        idx = order[i : i + batch]
        x = trim(ids[idx])
        hits += int((model(x, keep=x != text.PAD).argmax(1) == labels[idx]).sum())
    return hits / len(ids)


def linear_decay(step: int, total: int) -> float:
    """Learning-rate factor at 0-based `step`: from 1 down to 1/total, linearly."""
    return 1 - step / total


def finetune(model: Classifier, sets: dict, cfg, gen: torch.Generator, checkpoint_dir: Path, out_dir: Path, label: str):
    """sets: split -> (ids (N, L) tensor, labels (N,) tensor) on the model's device."""
    x, y = sets["train"]
    steps = len(x) // cfg.batch_size
    total = steps * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01, fused=True)

    lengths = (x != text.PAD).sum(1)

    def batches(epoch: int):
        yield from grouped_by_length(lengths, cfg.batch_size, gen)[:steps]

    def step(idx: torch.Tensor, loop: Loop) -> dict[str, torch.Tensor]:
        ids = trim(x[idx])
        if cfg.drop_ratio > 0:
            ids, pos, keep = drop_tokens(ids, text.is_word(ids), cfg.drop_ratio, text.PAD, gen)
        else:
            pos, keep = None, ids != text.PAD
        loss = F.cross_entropy(model(ids, pos, keep), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "tokens": keep.sum().float()}

    def evaluate(loop: Loop) -> dict[str, float]:
        return {"dev_acc": accuracy(model, *sets["dev"]), "test_acc": accuracy(model, *sets["test"])}

    return fit(
        step,
        batches,
        epochs=cfg.epochs,
        steps_per_epoch=steps,
        models={"classifier": model},
        optimizers={"adamw": opt},
        schedules={"decay": step_schedule(opt, partial(linear_decay, total=total))},
        generators={"data": gen},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=steps * cfg.batch_size,
        unit="sentences",
        total=None,
        history_path=out_dir / "history.jsonl",
        evaluate=evaluate,
        eval_every=steps,
        evals_path=out_dir / "evals.jsonl",
        check_every=50,
    )


def accuracies(evals: list[dict]) -> dict[str, float]:
    """The three readings of a run: test accuracy after the last epoch (primary), at the epoch with the best dev
    accuracy (first on ties), and the best dev accuracy itself (the post's style: best over epochs on the selection
    set, for comparison only)."""
    best = max(range(len(evals)), key=lambda i: (evals[i]["dev_acc"], -i))
    return {
        "test_acc_last": evals[-1]["test_acc"],
        "test_acc_devsel": evals[best]["test_acc"],
        "dev_acc_best": evals[best]["dev_acc"],
        "devsel_epoch": float(best + 1),
    }


def encode(tok: text.Tokenizer, texts: list[str], labels: np.ndarray, max_len: int, device):
    return (
        torch.as_tensor(tok.batch(texts, max_len), device=device),
        torch.as_tensor(labels.astype(np.int64), device=device),
    )
