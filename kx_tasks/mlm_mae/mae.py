"""The post's MAE identity, measured: an encoder run on the kept tokens only equals, at those tokens, the encoder run
on every token with the dropped tokens' attention columns masked in every layer — as a key-padding mask, or in the
post's literal form Norm(A ⊗ M) (softmax, multiply the columns by the mask, renormalise the rows). Positions are
added before dropping, as MAE does; [CLS] (position 0) is never dropped, so no row of A is all zeros.

Two negative controls show the identity needs the *same* mask in *every* layer: the mask in the first layer only,
and an independent mask in each layer after the first (attention dropout proper).
"""

from __future__ import annotations

import torch

from kx_tasks.mlm_mae.bert import Encoder
from kx_tasks.mlm_mae.corruption import select


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
