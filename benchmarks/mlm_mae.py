"""The mlm_mae task's loops (MLM pre-training and fine-tuning, on the shared engine) next to bare PyTorch loops doing
the same steps, side by side (the speed-ups the claims read — the encoder at 75% dropped, DropToken per ratio — are
measured inside the pipeline's runs: `timing.encoder_speedup_75`, `timing.speedup`).

    python benchmarks/mlm_mae.py [--steps 40] [--rounds 3]

The pre-training step (the artefact's batch, 32 x 64 tokens): select 15% of the words (argsort), BERT's 80/10/10
corruption, the encoder, the tied head at the selected positions, AdamW with the warm-up/decay factor. The
fine-tuning step: a length-grouped batch of 32 sentences (random word ids stand in for SST-2: throughput depends on
lengths, not content), the [CLS] classifier, AdamW. The bare loops have no checkpoints, progress, history, RNG
bookkeeping or finiteness checks; rounds alternate.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from side_by_side import BARE, ENGINE, print_table

from kx_tasks.core.engine import fit
from kx_tasks.mlm_mae import text
from kx_tasks.mlm_mae.config import MlmMaeConfig, PretrainParams
from kx_tasks.mlm_mae.corruption import bert_corrupt, random_ids, select
from kx_tasks.mlm_mae.model import BertMLM, Classifier, Encoder
from kx_tasks.mlm_mae.steps import finetune, grouped_by_length, schedule, trim

VOCAB = 8005


def corpus(n: int, length: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(len(text.SPECIAL), VOCAB, (n, length), generator=g)
    rows[:, 0], rows[:, -1] = text.CLS, text.SEP
    return rows


def pretrain_parts(cfg: PretrainParams):
    torch.manual_seed(0)
    model = BertMLM(Encoder(VOCAB, cfg.dim, cfg.layers, cfg.heads, cfg.ffn, cfg.max_len, dropout=cfg.dropout))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay, fused=True)
    replacements = random_ids(VOCAB)
    gen = torch.Generator().manual_seed(0)

    def step(ids: torch.Tensor, i: int, total: int) -> torch.Tensor:
        for group in opt.param_groups:
            group["lr"] = cfg.lr * schedule(i, total, cfg.warmup)
        selected = select(text.is_word(ids), 0.15, gen)
        loss = model.loss(bert_corrupt(ids, selected, text.MASK, replacements, gen), ids, selected, text.PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return model, opt, gen, step


def bare_pretrain(rows: torch.Tensor, cfg: PretrainParams, steps: int) -> float:
    _, _, gen, step = pretrain_parts(cfg)
    start = time.perf_counter()
    for i in range(steps):
        step(rows[torch.randint(0, len(rows), (cfg.batch_size,), generator=gen)], i, steps)
    return (time.perf_counter() - start) / steps


def kx_pretrain(rows: torch.Tensor, cfg: PretrainParams, steps: int) -> float:
    model, opt, gen, step = pretrain_parts(cfg)

    def batches(epoch: int):
        for _ in range(steps // 2):
            yield rows[torch.randint(0, len(rows), (cfg.batch_size,), generator=gen)]

    def engine_step(ids, loop):
        return {"mlm_loss": step(ids, loop.step, steps)}

    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        fit(
            engine_step,
            batches,
            epochs=2,
            steps_per_epoch=steps // 2,
            models={"bert": model},
            optimizers={"adamw": opt},
            generators={"data": gen},
            checkpoint_dir=Path(d) / "ck",
            label="bench",
            total=None,
            check_every=50,
        )
        return (time.perf_counter() - start) / steps


def finetune_parts(cfg: MlmMaeConfig):
    torch.manual_seed(0)
    model = Classifier(Encoder(VOCAB, 128, 2, 2, 512, 64, dropout=cfg.dropout), 2, cfg.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01, fused=True)
    return model, opt


def sentences(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """SST-2-like lengths (4–56 tokens, mean ~23) of random word ids, labels at random."""
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(4, 43, (n,), generator=g)
    ids = torch.randint(len(text.SPECIAL), VOCAB, (n, 64), generator=g)
    ids[torch.arange(64)[None] >= lengths[:, None]] = text.PAD
    ids[:, 0] = text.CLS
    return ids, torch.randint(0, 2, (n,), generator=g)


def bare_finetune(data, cfg: MlmMaeConfig, steps: int) -> float:
    x, y = data
    model, opt = finetune_parts(cfg)
    gen = torch.Generator().manual_seed(0)
    batches = grouped_by_length((x != text.PAD).sum(1), cfg.batch_size, gen)[:steps]
    start = time.perf_counter()
    for i, idx in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * (1 - i / steps)
        ids = trim(x[idx])
        loss = F.cross_entropy(model(ids, None, ids != text.PAD), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def kx_finetune(data, cfg: MlmMaeConfig, steps: int) -> float:
    x, y = data
    model, _ = finetune_parts(cfg)
    n = steps * cfg.batch_size
    sets = {"train": (x[:n], y[:n]), "dev": (x[:2], y[:2]), "test": (x[:2], y[:2])}
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        finetune(
            model,
            sets,
            cfg.model_copy(update={"epochs": 1}),
            torch.Generator().manual_seed(0),
            Path(d) / "ck",
            Path(d),
            "bench",
        )
        return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="steps per timed round (even)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, cpu, {args.threads} thread(s); BERT-Tiny, {args.rounds} rounds x {args.steps} "
        "steps"
    )
    pcfg, fcfg = PretrainParams(), MlmMaeConfig()
    rows, data = corpus(4096, pcfg.max_len), sentences(args.steps * fcfg.batch_size)
    pretraining = f"MLM pre-training (batch {pcfg.batch_size} x {pcfg.max_len} tokens)"
    for name, loops, arg, per in (
        (pretraining, (bare_pretrain, kx_pretrain), rows, pcfg.batch_size),
        ("fine-tuning (batch 32 sentences)", (bare_finetune, kx_finetune), data, fcfg.batch_size),
    ):
        times: dict[str, list[float]] = {BARE: [], ENGINE: []}
        for _ in range(args.rounds):
            for label, loop in zip((BARE, ENGINE), loops, strict=True):
                times[label].append(loop(arg, pcfg if loop in (bare_pretrain, kx_pretrain) else fcfg, args.steps))
        print(f"\n{name}:")
        print_table(times, per, unit="sequences", per="step")


if __name__ == "__main__":
    main()
