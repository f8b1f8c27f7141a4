"""The post's MAE identity, measured: an encoder run on the kept tokens only equals, at those tokens, the encoder run
on every token with the dropped tokens' attention columns masked in every layer — as a key-padding mask, or in the
post's literal form Norm(A ⊗ M) (softmax, multiply the columns by the mask, renormalise the rows). Positions are
added before dropping, as MAE does; [CLS] (position 0) is never dropped, so no row of A is all zeros.

Two negative controls show the identity needs the *same* mask in *every* layer: the mask in the first layer only,
and an independent mask in each layer after the first (attention dropout proper).

The `mae` variant runs this identity on the trained encoder and on random post-LN and pre-LN encoders of its shape
(`measure`), beside the encoder's speed-up at 75% dropped, the post's correction formula against a Monte-Carlo mean,
and the gaps between weight and model averaging.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from kx_tasks.mlm_mae import text
from kx_tasks.mlm_mae.config import IDENTITY, MlmMaeConfig
from kx_tasks.mlm_mae.corruption import bert_corrupt, corrected_embedding, random_ids, select
from kx_tasks.mlm_mae.model import Encoder, load_encoder
from kx_tasks.mlm_mae.steps import trim


def keep_mask(batch: int, length: int, ratio: float, generator: torch.Generator, device=None) -> torch.Tensor:
    """(B, L) bool: ⌊ratio·(L − 1)⌋ of the positions 1… dropped per row (the same count in every row), [CLS] kept."""
    maskable = torch.ones(batch, length, dtype=torch.bool, device=device)
    maskable[:, 0] = False
    return ~select(maskable, ratio, generator)


def kept_only(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(B, L, D) -> (B, L_keep, D): each row's kept tokens in their original order (equal counts per row)."""
    order = (~keep).long().argsort(dim=1, stable=True)[:, : int(keep[0].sum())]
    return torch.gather(x, 1, order[..., None].expand(-1, -1, x.shape[-1]))


@torch.no_grad()
def identity_errors(encoder: Encoder, x: torch.Tensor, ratio: float, generator: torch.Generator) -> dict[str, float]:
    """Largest |difference| at the kept tokens, ÷ (1 + max |output|), between the encoder on the kept tokens and:
    the key-padding form, the literal form, and the two controls. `x` is embedded input (positions added)."""
    encoder.eval()
    b, n, _ = x.shape
    keep = keep_mask(b, n, ratio, generator, x.device)
    reference = encoder.encode(kept_only(x, keep))
    scale = 1.0 + float(reference.abs().max())

    def error(out: torch.Tensor) -> float:
        return float((kept_only(out, keep) - reference).abs().max()) / scale

    layers = len(encoder.blocks)
    everyone = torch.ones_like(keep)
    fresh = [keep] + [keep_mask(b, n, ratio, generator, x.device) for _ in range(layers - 1)]
    return {
        "masked": error(encoder.encode(x, keep, "masked")),
        "literal": error(encoder.encode(x, keep, "literal")),
        "first_layer_only": error(encoder.encode(x, layer_keep=[keep] + [everyone] * (layers - 1))),
        "independent_masks": error(encoder.encode(x, layer_keep=fresh)),
    }


def measure(folder: Path, cfg: MlmMaeConfig, seed: int, device, sentences: list[str]) -> dict[str, float]:
    encoder, tok, facts = load_encoder(folder, device, 0.0)
    encoder.eval()
    g = torch.Generator(device).manual_seed(seed)
    clean = torch.as_tensor(tok.batch(sentences, facts["max_len"]), device=device)
    gaps = averaging_gaps(encoder, trim(clean), cfg.mae_masks, g)
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
        enc = (
            Encoder(
                vocab,
                facts["dim"],
                facts["layers"],
                facts["heads"],
                facts["ffn"],
                facts["max_len"],
                pre_ln=pre_ln,
                dropout=0.0,
            )
            .to(device)
            .eval()
        )
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
                for form, err in identity_errors(enc, x, r, g).items():
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

    return {
        "gap.mae_75": gap(mae_mean, plain),
        "gap.mlm_15_plain": gap(mlm_mean, plain),
        "gap.mlm_15_corrected": gap(mlm_mean, corrected),
    }


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
