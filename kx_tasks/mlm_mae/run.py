"""Stages of the `mlm_mae` task: train (fine-tune a pre-trained checkpoint; for `mae`, the measurements of mae.py on
the trained encoder), evaluate (the accuracies and the speed readings), and the builds of its artefacts (MLM
pre-training, once per seed and mask ratio: every fine-tuning job of a seed reads the same checkpoint)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.io import read_json, read_jsonl, write_json
from kx_tasks.core.settings import Run
from kx_tasks.mlm_mae import corpus, mae, steps, text
from kx_tasks.mlm_mae.config import MlmMaeConfig, PretrainParams, checkpoint
from kx_tasks.mlm_mae.corruption import correct
from kx_tasks.mlm_mae.model import BertMLM, Classifier, Encoder, load_encoder

HEAD_SEED = 7_000_003  # the classifier head's initial weights: the same for every condition of a seed


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: MlmMaeConfig = run.params
    device = run.torch_device
    folder = inputs[checkpoint(run.variant)]
    if cfg.condition == "mae":
        sentences = corpus.finetune_splits(inputs["sst2"], "sst2")[0]["dev"][0][: cfg.gap_sentences]
        write_json(out_dir / "mae.json", mae.measure(folder, cfg, run.seed, device, sentences))
        return
    name = run.family
    held_out = read_json(folder / "bert.json")["held_out"]
    if name not in held_out:
        raise ValueError(
            f"artefacts.{checkpoint(run.variant)}.params.held_out: {name} is not held out from this "
            f"checkpoint's corpus ({', '.join(held_out)}): its evaluation sentences may be in "
            "it"
        )
    splits = corpus.finetune_splits(inputs[name], name, cfg.folds)
    for fold, raw in enumerate(splits):
        for j in range(cfg.finetune_seeds):
            tag = fit_tag(fold, j, len(splits), cfg.finetune_seeds)
            label = f"{run.variant} seed {run.seed}" + (f" ({tag})" if tag else "")
            model, sets = finetune_once(
                folder,
                raw,
                cfg,
                run.seed + 1000 * j,
                device,
                inputs["checkpoints"] / "classifier" / tag,
                out_dir / tag,
                label,
            )
    if cfg.drop_ratio > 0:  # on the last fit's model and training sentences
        write_json(out_dir / "speed.json", {"speedup": steps.speedup(model, sets["train"][0], cfg, device)})


def fit_tag(fold: int, j: int, folds: int, seeds: int) -> str:
    """The sub-folder of one fine-tuning: '' when a run has one (fixed split, one fine-tuning seed)."""
    parts = ([f"fold{fold}"] if folds > 1 else []) + ([f"ft{j}"] if seeds > 1 else [])
    return ".".join(parts)


def finetune_once(
    folder: Path, raw: corpus.Split, cfg: MlmMaeConfig, seed: int, device, checkpoints: Path, out_dir: Path, label: str
):
    """One fine-tuning of the checkpoint on one split; `seed` sets the head's initial weights and the batch order,
    the same for every condition (plain, corrected, DropToken ratios) of a seed: the comparisons are paired."""
    encoder, tok, _ = load_encoder(folder, device, cfg.dropout)
    if cfg.condition == "corrected":
        correct(encoder, cfg.mask_ratio)
    sets = {s: steps.encode(tok, *raw[s], cfg.max_len, device) for s in raw}
    if cfg.train_size:
        sets["train"] = tuple(t[: cfg.train_size] for t in sets["train"])
    torch.manual_seed(seed + HEAD_SEED)
    model = Classifier(encoder, int(sets["train"][1].max()) + 1, cfg.dropout).to(device)
    gen = torch.Generator(device).manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps.finetune(model, sets, cfg, gen, checkpoints, out_dir, label)
    return model, sets


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: MlmMaeConfig = run.params
    if cfg.condition == "mae":
        return read_json(inputs["train"] / "mae.json")
    fits = [read_jsonl(p) for p in sorted(inputs["train"].rglob("evals.jsonl"))]  # one per fold and seed
    readings = [steps.accuracies(evals) for evals in fits]
    metrics = {key: float(np.mean([r[key] for r in readings])) for key in readings[0]}
    metrics["fits"] = float(len(fits))
    seconds = [np.diff([0.0] + [r["seconds"] for r in evals]) for evals in fits]
    metrics["timing.epoch_seconds"] = float(np.median(np.concatenate(seconds)))
    if (inputs["train"] / "speed.json").exists():
        metrics["timing.speedup"] = read_json(inputs["train"] / "speed.json")["speedup"]
    return metrics


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
        gen = torch.Generator(device).manual_seed(run.seed)
        label = f"bert mlm{round(100 * ratio)} seed {run.seed}"
        history = steps.pretrain(model, rows, ratio, cfg, gen, inputs["checkpoints"] / "bert", out_dir, label)
        torch.save(model.encoder.state_dict(), out_dir / "encoder.pt")
        write_json(out_dir / "vocab.json", tok.vocab)
        write_json(
            out_dir / "bert.json",
            {
                **facts,
                "mask_ratio": ratio,
                "sequences": len(rows),
                "steps": history.loop.step,
                "final_mlm_loss": history.history[-1]["mlm_loss"],
                "unigram_entropy": steps.unigram_entropy(rows),
                **cfg.model_dump(),
            },
        )

    return build_bert


build_mlm15 = build(0.15)
build_mlm40 = build(0.40)
