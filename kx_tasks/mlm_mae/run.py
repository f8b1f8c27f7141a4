"""Stages of the `mlm_mae` task: train (fine-tune a pre-trained checkpoint; for `mae`, the exact identity, the
speed-up and the averaging gaps on the trained encoder) and evaluate (the accuracies and the speed readings)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.io import read_json, read_jsonl, write_json
from kx_tasks.core.settings import Run
from kx_tasks.mlm_mae import corpus, finetune, mae, text
from kx_tasks.mlm_mae.bert import Encoder
from kx_tasks.mlm_mae.config import IDENTITY, MlmMaeConfig, checkpoint
from kx_tasks.mlm_mae.corruption import bert_corrupt, corrected_embedding, drop_tokens, random_ids, select

HEAD_SEED = 7_000_003  # the classifier head's initial weights: the same for every condition of a seed


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: MlmMaeConfig = run.params
    device = run.torch_device
    folder = inputs[checkpoint(run.variant)]
    if cfg.condition == "mae":
        sentences = corpus.finetune_splits(inputs["sst2"], "sst2")[0]["dev"][0][: cfg.gap_sentences]
        write_json(out_dir / "mae.json", mae_measurements(folder, cfg, run.seed, device, sentences))
        return
    name = run.variant.split(".")[0]
    held_out = read_json(folder / "bert.json")["held_out"]
    if name not in held_out:
        raise ValueError(f"artefacts.{checkpoint(run.variant)}.params.held_out: {name} is not held out from this "
                         f"checkpoint's corpus ({', '.join(held_out)}): its evaluation sentences may be in "
                         "it")  # fmt: skip
    splits = corpus.finetune_splits(inputs[name], name, cfg.folds)
    for fold, raw in enumerate(splits):
        for j in range(cfg.finetune_seeds):
            tag = fit_tag(fold, j, len(splits), cfg.finetune_seeds)
            label = f"{run.variant} seed {run.seed}" + (f" ({tag})" if tag else "")
            model, sets = finetune_once(folder, raw, cfg, run.seed + 1000 * j, device,
                                        inputs["checkpoints"] / "classifier" / tag, out_dir / tag, label)  # fmt: skip
    if cfg.drop_ratio > 0:  # on the last fit's model and training sentences
        write_json(out_dir / "speed.json", {"speedup": speedup(model, sets["train"][0], cfg, device)})


def fit_tag(fold: int, j: int, folds: int, seeds: int) -> str:
    """The sub-folder of one fine-tuning: '' when a run has one (fixed split, one fine-tuning seed)."""
    parts = ([f"fold{fold}"] if folds > 1 else []) + ([f"ft{j}"] if seeds > 1 else [])
    return ".".join(parts)


def finetune_once(folder: Path, raw: corpus.Split, cfg: MlmMaeConfig, seed: int, device, checkpoints: Path,
                  out_dir: Path, label: str):  # fmt: skip
    """One fine-tuning of the checkpoint on one split; `seed` sets the head's initial weights and the batch order,
    the same for every condition (plain, corrected, DropToken ratios) of a seed: the comparisons are paired."""
    encoder, tok, _ = finetune.load_encoder(folder, device, cfg.dropout)
    if cfg.condition == "corrected":
        finetune.correct(encoder, cfg.mask_ratio)
    sets = {s: finetune.encode(tok, *raw[s], cfg.max_len, device) for s in raw}
    if cfg.train_size:
        sets["train"] = tuple(t[: cfg.train_size] for t in sets["train"])
    torch.manual_seed(seed + HEAD_SEED)
    model = finetune.Classifier(encoder, int(sets["train"][1].max()) + 1, cfg.dropout).to(device)
    gen = torch.Generator(device).manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    finetune.finetune(model, sets, cfg, gen, checkpoints, out_dir, label)
    return model, sets


def speedup(model, x: torch.Tensor, cfg: MlmMaeConfig, device) -> float:
    """Training-step time at ratio 0 ÷ at cfg.drop_ratio on the same batches (median of speed_steps each, the two
    alternating), forward and backward of the classifier."""
    gen = torch.Generator(device).manual_seed(0)
    model.train()
    times: dict[float, list[float]] = {0.0: [], cfg.drop_ratio: []}
    for i in range(cfg.speed_steps):
        ids = finetune.trim(x[i * cfg.batch_size : (i + 1) * cfg.batch_size])
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


def mae_measurements(folder: Path, cfg: MlmMaeConfig, seed: int, device, sentences: list[str]) -> dict[str, float]:
    encoder, tok, facts = finetune.load_encoder(folder, device, 0.0)
    encoder.eval()
    g = torch.Generator(device).manual_seed(seed)
    clean = torch.as_tensor(tok.batch(sentences, facts["max_len"]), device=device)
    gaps = averaging_gaps(encoder, finetune.trim(clean), cfg.mae_masks, g)
    ids = torch.randint(len(text.SPECIAL), len(tok), (16, facts["max_len"]), generator=g, device=device)
    ids[:, 0] = text.CLS
    encoders = {"trained": encoder, **random_encoders(facts, len(tok), g, device)}
    out = identity_readings(encoders, ids, cfg.mae_ratios, g)
    out["timing.encoder_speedup_75"] = encoder_speedup(encoder, facts["max_len"], device)
    out.update(correction_check(encoder.tokens.weight.detach().double(), seed))
    # the checkpoint's quality beside the readings: its last-epoch MLM loss against the context-free baseline
    out["pretrain.mlm_loss"], out["pretrain.unigram_entropy"] = facts["final_mlm_loss"], facts["unigram_entropy"]
    return out | gaps


def random_encoders(facts: dict, vocab: int, g: torch.Generator, device) -> dict[str, Encoder]:
    """The trained encoder's shape with random weights, post-LN (BERT's block) and pre-LN (MAE's), matrices drawn
    N(0, 0.15²): at BERT's 0.02 init attention is nearly uniform and the controls would have little to break; at
    0.15 it is far from uniform while activations stay of order 10 (at 0.3 they reach ~100 and float32 rounding
    alone approaches the 1e-5 tolerance: 5e-6 measured)."""
    out = {}
    for name, pre_ln in (("random_post_ln", False), ("random_pre_ln", True)):
        enc = Encoder(vocab, facts["dim"], facts["layers"], facts["heads"], facts["ffn"], facts["max_len"],
                      pre_ln=pre_ln, dropout=0.0).to(device).eval()  # fmt: skip
        with torch.no_grad():
            for p in enc.parameters():
                if p.dim() > 1:
                    p.copy_(torch.randn(p.shape, generator=g, device=device) * 0.15)
        out[name] = enc
    return out


def identity_readings(encoders: dict[str, Encoder], ids: torch.Tensor, ratios, g: torch.Generator) -> dict:
    """mae.<encoder>.<form>_<f32|f64>: over the mask ratios, the largest relative error of the identity's forms and
    the smallest of the controls; mae.<form>_<dtype> the same over every encoder (what the claims read)."""
    out: dict[str, float] = {}
    for name, encoder in encoders.items():
        for dtype, dt in ((torch.float32, "f32"), (torch.float64, "f64")):
            enc = encoder.to(dtype)
            x = enc.embed(ids)
            for r in ratios:
                for form, err in mae.identity_errors(enc, x, r, g).items():
                    for key in (f"mae.{name}.{form}_{dt}", f"mae.{form}_{dt}"):
                        worst = max if form in IDENTITY else min
                        out[key] = worst(out[key], err) if key in out else err
        encoder.float()
    return out


@torch.no_grad()
def averaging_gaps(encoder, ids: torch.Tensor, draws: int, g: torch.Generator) -> dict[str, float]:
    """How far "weight averaging" (the deterministic model fine-tuning uses) is from "model averaging" (the mean of
    the pre-training model's outputs over its random corruptions), for the [CLS] output on clean sentences, as
    ‖E[f(corrupted)] − f(deterministic)‖ / ‖f(deterministic)‖ averaged over sentences (descriptive; `draws` each):
    MAE-style — 75% of the word columns masked in every layer against all tokens; MLM-style — BERT's 15% 80/10/10
    against the clean input, and against the clean input with the corrected embedding (the correction is exactly the
    weight average of the corruption, so it should shrink this gap)."""
    keep_all = ids != text.PAD
    words = text.is_word(ids)
    x = encoder.embed(ids)
    plain = encoder.encode(x, keep_all)[:, 0]
    mae_mean = torch.zeros_like(plain)
    mlm_mean = torch.zeros_like(plain)
    replacements = random_ids(encoder.tokens.num_embeddings, ids.device)
    for _ in range(draws):
        keep = keep_all & ~select(words, 0.75, g)
        mae_mean += encoder.encode(x, keep)[:, 0] / draws
        corrupted = bert_corrupt(ids, select(words, 0.15, g), text.MASK, replacements, g)
        mlm_mean += encoder(corrupted, keep=keep_all)[:, 0] / draws
    weights = encoder.tokens.weight.clone()
    encoder.tokens.weight.copy_(corrected_embedding(weights, text.MASK, replacements, 0.15))
    corrected = encoder(ids, keep=keep_all)[:, 0]
    encoder.tokens.weight.copy_(weights)

    def gap(mean: torch.Tensor, ref: torch.Tensor) -> float:
        return float(((mean - ref).norm(dim=1) / ref.norm(dim=1)).mean())

    return {"gap.mae_75": gap(mae_mean, plain), "gap.mlm_15_plain": gap(mlm_mean, plain),
            "gap.mlm_15_corrected": gap(mlm_mean, corrected)}  # fmt: skip


def encoder_speedup(encoder, length: int, device, batch: int = 128, steps: int = 10) -> float:
    """Forward+backward time of the encoder on `length` tokens ÷ on the 25% kept (MAE at 75%), median of `steps`."""
    encoder.train()
    keep = max(1, length // 4)
    times = {length: [], keep: []}
    for _ in range(steps):
        for n in times:
            x = torch.randn(batch, n, encoder.tokens.embedding_dim, device=device)
            t0 = time.perf_counter()
            encoder.encode(x).sum().backward()
            times[n].append(time.perf_counter() - t0)
    encoder.zero_grad(set_to_none=True)
    encoder.eval()
    return statistics.median(times[length]) / statistics.median(times[keep])


def correction_check(embedding: torch.Tensor, seed: int, draws: int = 1_000_000) -> dict[str, float]:
    """The post's formula against the Monte-Carlo mean of the corrupted input embedding of one token (10⁶ draws,
    100 positions per row, 15% selected): the largest |z| over dimensions."""
    g = torch.Generator().manual_seed(seed)
    embedding = embedding.cpu()
    vocab = embedding.shape[0]
    token = len(text.SPECIAL) + int(torch.randint(0, vocab - len(text.SPECIAL), (1,), generator=g))
    ids = torch.full((draws // 100, 100), token)
    replacements = random_ids(vocab)
    corrupted = bert_corrupt(ids, select(torch.ones_like(ids, dtype=torch.bool), 0.15, g), text.MASK, replacements, g)
    p = torch.bincount(corrupted.flatten(), minlength=vocab).double() / corrupted.numel()
    mean = p @ embedding
    se = ((p @ embedding**2 - mean**2) / corrupted.numel()).sqrt()
    formula = corrected_embedding(embedding, text.MASK, replacements, 0.15)[token]
    return {"correction_mc_z": float(((mean - formula).abs() / se).max())}


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: MlmMaeConfig = run.params
    if cfg.condition == "mae":
        return read_json(inputs["train"] / "mae.json")
    fits = [read_jsonl(p) for p in sorted(inputs["train"].rglob("evals.jsonl"))]  # one per fold and seed
    readings = [finetune.accuracies(evals) for evals in fits]
    metrics = {key: float(np.mean([r[key] for r in readings])) for key in readings[0]}
    metrics["fits"] = float(len(fits))
    seconds = [np.diff([0.0] + [r["seconds"] for r in evals]) for evals in fits]
    metrics["timing.epoch_seconds"] = float(np.median(np.concatenate(seconds)))
    if (inputs["train"] / "speed.json").exists():
        metrics["timing.speedup"] = read_json(inputs["train"] / "speed.json")["speedup"]
    return metrics
