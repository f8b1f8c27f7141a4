"""What the engine runs for the `mlm_mae` task: MLM pre-training of the tiny BERT (the artefacts bert_mlm15/40) and
fine-tuning on a sentence set, each a step function, its batches and its learning-rate schedule (a function of the
engine's global step).

Pre-training follows BERT's recipe at BERT-Tiny's shape (Turc et al. 2019: 2 layers, hidden 128, 2 heads, FFN 512;
post-LN, GELU, learned positions): sequences are consecutive corpus sentences packed into 64 tokens [CLS] … [SEP];
per sequence ⌊ratio·n⌋ of its n word positions are selected (MAE-style argsort, no loop), of those 80% become
[MASK], 10% a token drawn uniformly from the non-special vocabulary, 10% stay; the loss is cross-entropy at the
selected positions, the head (tied to the input embedding) runs on those rows only. AdamW, β (0.9, 0.98), linear
warm-up then linear decay (PretrainParams).

Fine-tuning: [CLS] classifier, AdamW with linear decay, optional DropToken on the training batches (never at
evaluation); dev and test accuracy after every epoch (evaluation, not training time).
"""

from __future__ import annotations

import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kx_tasks.core.engine import Loop, TrainLog, fit, step_schedule
from kx_tasks.mlm_mae import text
from kx_tasks.mlm_mae.config import MlmMaeConfig, PretrainParams
from kx_tasks.mlm_mae.corruption import bert_corrupt, drop_tokens, random_ids, select
from kx_tasks.mlm_mae.model import BertMLM, Classifier


def schedule(step: int, total: int, warmup: float) -> float:
    """Learning-rate factor at 0-based `step`: linear warm-up over ⌈warmup·total⌉ steps, then linear decay to 0."""
    w = max(1, int(np.ceil(warmup * total)))
    return (step + 1) / w if step < w else max(0.0, (total - step) / (total - w))


def unigram_entropy(rows: torch.Tensor) -> float:
    """The entropy (nats) of the corpus's word frequencies: the MLM loss of a model that ignores the context, which a
    pre-trained checkpoint's loss should be well below."""
    counts = torch.bincount(rows[text.is_word(rows)].flatten()).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def pretrain(
    model: BertMLM,
    rows: torch.Tensor,
    ratio: float,
    cfg: PretrainParams,
    gen: torch.Generator,
    checkpoint_dir: Path,
    out_dir: Path,
    label: str,
) -> TrainLog:
    """MLM on the packed `rows` (N, max_len) at selection `ratio`, every draw from `gen`."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay, fused=True)
    replacements = random_ids(model.encoder.tokens.num_embeddings, rows.device)
    steps_per_epoch = len(rows) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs

    def batches(epoch: int):
        order = torch.randperm(len(rows), generator=gen, device=rows.device)
        for i in range(steps_per_epoch):
            yield rows[order[i * cfg.batch_size : (i + 1) * cfg.batch_size]]

    def step(ids: torch.Tensor, loop: Loop) -> dict[str, torch.Tensor]:
        selected = select(text.is_word(ids), ratio, gen)
        corrupted = bert_corrupt(ids, selected, text.MASK, replacements, gen)
        loss = model.loss(corrupted, ids, selected, text.PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"mlm_loss": loss.detach()}

    return fit(
        step,
        batches,
        epochs=cfg.epochs,
        steps_per_epoch=steps_per_epoch,
        models={"bert": model},
        optimizers={"adamw": opt},
        generators={"data": gen},
        schedules={"lr": step_schedule(opt, partial(schedule, total=total, warmup=cfg.warmup))},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=steps_per_epoch * cfg.batch_size * cfg.max_len,
        unit="tokens",
        total=None,
        history_path=out_dir / "history.jsonl",
        config=cfg.model_dump(mode="json"),
        check_every=50,
    )


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


def speedup(model, x: torch.Tensor, cfg: MlmMaeConfig, device) -> float:
    """Training-step time at ratio 0 ÷ at cfg.drop_ratio on the same batches (median of speed_steps each, the two
    alternating), forward and backward of the classifier."""
    gen = torch.Generator(device).manual_seed(0)
    model.train()
    times: dict[float, list[float]] = {0.0: [], cfg.drop_ratio: []}
    for i in range(cfg.speed_steps):
        ids = trim(x[i * cfg.batch_size : (i + 1) * cfg.batch_size])
        for r in times:
            t0 = time.perf_counter()
            if r > 0:
                kept, pos, keep = drop_tokens(ids, text.is_word(ids), r, text.PAD, gen)
            else:
                kept, pos, keep = ids, None, ids != text.PAD
            model(kept, pos, keep).sum().backward()
            times[r].append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return statistics.median(times[0.0]) / statistics.median(times[cfg.drop_ratio])
