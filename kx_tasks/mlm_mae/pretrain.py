"""MLM pre-training of the tiny BERT, once per seed and mask ratio, as artefacts (`bert_mlm15`, `bert_mlm40`): every
fine-tuning job of a seed reads the same checkpoint (the DAG shows one build per seed).

BERT's recipe at BERT-Tiny's shape (Turc et al. 2019: 2 layers, hidden 128, 2 heads, FFN 512; post-LN, GELU, learned
positions): sequences are consecutive corpus sentences packed into 64 tokens [CLS] … [SEP]; per sequence
⌊ratio·n⌋ of its n word positions are selected (MAE-style argsort, no loop), of those 80% become [MASK], 10% a token
drawn uniformly from the non-special vocabulary, 10% stay; the loss is cross-entropy at the selected positions, the
head (tied to the input embedding) runs on those rows only. AdamW lr 1e-3, β (0.9, 0.98), weight decay 0.01, 5%
linear warm-up then linear decay, batch 128.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.engine import Loop, fit, step_schedule
from kx_tasks.core.io import write_json
from kx_tasks.mlm_mae import corpus, text
from kx_tasks.mlm_mae.bert import BertMLM, Encoder
from kx_tasks.mlm_mae.config import PretrainParams
from kx_tasks.mlm_mae.corruption import bert_corrupt, random_ids, select

log = logging.getLogger("kx")


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


def build(ratio: float):
    def build_bert(run, inputs: dict[str, Path], out_dir: Path) -> None:
        cfg: PretrainParams = run.params
        device = run.torch_device
        sentences, facts = corpus.pretraining(inputs, cfg.corpus, cfg.held_out)
        tok = text.Tokenizer.build(sentences, cfg.vocab_size)
        rows = torch.as_tensor(text.pack((tok.encode(s) for s in sentences), cfg.max_len))[: cfg.max_sequences]
        del sentences
        rows = rows.to(device)
        torch.manual_seed(run.seed)
        model = BertMLM(
            Encoder(len(tok), cfg.dim, cfg.layers, cfg.heads, cfg.ffn, cfg.max_len, dropout=cfg.dropout)
        ).to(device)
        opt = torch.optim.AdamW(
            model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay, fused=True
        )
        gen = torch.Generator(device).manual_seed(run.seed)
        replacements = random_ids(len(tok), device)
        steps_per_epoch = len(rows) // cfg.batch_size
        total = steps_per_epoch * cfg.epochs

        def batches(epoch: int):
            order = torch.randperm(len(rows), generator=gen, device=device)
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

        history = fit(
            step,
            batches,
            epochs=cfg.epochs,
            steps_per_epoch=steps_per_epoch,
            models={"bert": model},
            optimizers={"adamw": opt},
            generators={"data": gen},
            schedules={"lr": step_schedule(opt, partial(schedule, total=total, warmup=cfg.warmup))},
            checkpoint_dir=inputs["checkpoints"] / "bert",
            label=f"bert mlm{round(100 * ratio)} seed {run.seed}",
            samples_per_epoch=steps_per_epoch * cfg.batch_size * cfg.max_len,
            unit="tokens",
            total=None,
            history_path=out_dir / "history.jsonl",
            config=cfg.model_dump(mode="json"),
            check_every=50,
        )
        torch.save(model.encoder.state_dict(), out_dir / "encoder.pt")
        write_json(out_dir / "vocab.json", tok.vocab)
        final = history.history[-1]["mlm_loss"]
        write_json(
            out_dir / "bert.json",
            {
                **facts,
                "mask_ratio": ratio,
                "sequences": len(rows),
                "steps": total,
                "final_mlm_loss": final,
                "unigram_entropy": unigram_entropy(rows),
                **cfg.model_dump(),
            },
        )

    return build_bert


build_mlm15 = build(0.15)
build_mlm40 = build(0.40)
