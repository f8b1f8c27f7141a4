"""Token corruption as Dropout: BERT's masking, DropToken, and the embedding correction that is their expectation.

All three draw like MAE's `random_masking` (facebookresearch/mae, models_mae.py): one uniform noise value per token,
an argsort per sequence, and a fixed count per sequence; no Python loop over the batch. Special tokens ([PAD], [CLS],
[SEP], …) are never selected or dropped: their noise is set so that they sort last (selection) or first (keeping).

The correction (the post's formula): under BERT's corruption with selection rate r, a selected token becomes [MASK]
with probability p_mask, a random token with p_random, and stays with the rest, so the expected input embedding of
token i is

    (1 − r)·E[i] + r·(p_mask·E[MASK] + p_random·mean(E[R]) + (1 − p_mask − p_random)·E[i])

with R the rows the random replacement draws from (here: the non-special vocabulary, uniformly). At r = 0.15 and
80/10/10 that is the post's 0.85·E + 0.15·(0.8·E[m] + 0.1·E + 0.1·Avg), with Avg taken over exactly R — the
post's bert4keras snippet averages every row, special tokens included, which matches the expectation only when the
random tokens are drawn from every row.
"""

from __future__ import annotations

import torch

from kx_tasks.mlm_mae.text import MASK, SPECIAL


def random_ids(vocab: int, device=None) -> torch.Tensor:
    """The ids BERT's random replacement draws from, uniformly: the in-vocabulary words (no special token, [UNK]
    neither). The correction averages exactly these rows."""
    return torch.arange(len(SPECIAL), vocab, device=device)


def select(maskable: torch.Tensor, ratio: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, L) bool of positions that may be chosen -> (B, L) bool with ⌊ratio·n⌋ of each row's n chosen uniformly."""
    noise = torch.rand(maskable.shape, generator=generator, device=maskable.device)
    noise = noise.masked_fill(~maskable, 2.0)  # never chosen: sorts after every real draw
    rank = noise.argsort(dim=1).argsort(dim=1)  # each position's rank in its row
    count = (maskable.sum(dim=1, keepdim=True) * ratio).floor().long()
    return rank < count


def bert_corrupt(
    ids: torch.Tensor,
    selected: torch.Tensor,
    mask_id: int,
    random_ids: torch.Tensor,
    generator: torch.Generator | None = None,
    p_mask: float = 0.8,
    p_random: float = 0.1,
) -> torch.Tensor:
    """BERT's rule on the selected positions: [MASK] with p_mask, a token drawn uniformly from `random_ids` with
    p_random, unchanged otherwise. Returns the corrupted ids (the input is not modified)."""
    u = torch.rand(ids.shape, generator=generator, device=ids.device)
    pick = torch.randint(0, len(random_ids), ids.shape, generator=generator, device=ids.device)
    out = ids.clone()
    out[selected & (u < p_mask)] = mask_id
    swap = selected & (u >= p_mask) & (u < p_mask + p_random)
    out[swap] = random_ids.to(ids.device)[pick[swap]]
    return out


def corrected_embedding(
    embedding: torch.Tensor,
    mask_id: int,
    random_ids: torch.Tensor,
    ratio: float,
    p_mask: float = 0.8,
    p_random: float = 0.1,
) -> torch.Tensor:
    """Every row i replaced by its expected input embedding under the corruption (module docstring)."""
    avg = embedding[random_ids].mean(dim=0, keepdim=True)
    corrupted = p_mask * embedding[mask_id][None] + p_random * avg + (1 - p_mask - p_random) * embedding
    return (1 - ratio) * embedding + ratio * corrupted


Dropped = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def drop_tokens(
    ids: torch.Tensor, droppable: torch.Tensor, ratio: float, pad_id: int, generator: torch.Generator | None = None
) -> Dropped:
    """DropToken: drop ⌊ratio·n⌋ of each row's n droppable tokens, keep the rest in order with their original
    positions, and re-pad to the longest kept row. Returns (ids, position ids, attention mask), each (B, L')."""
    dropped = select(droppable, ratio, generator)
    keep = (ids != pad_id) & ~dropped
    length = int(keep.sum(dim=1).max())
    positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    # kept positions first, in their original order (a stable sort on "dropped or padding")
    order = (~keep).long().argsort(dim=1, stable=True)[:, :length]
    kept = torch.gather(keep, 1, order)
    out_ids = torch.gather(ids, 1, order).masked_fill(~kept, pad_id)
    out_pos = torch.gather(positions, 1, order).masked_fill(~kept, 0)
    return out_ids, out_pos, kept


def correct(encoder: torch.nn.Module, ratio: float) -> None:
    """The post's correction on the input embedding (in place): every row its expectation under the corruption."""
    with torch.no_grad():
        e = encoder.tokens.weight
        replacements = random_ids(e.shape[0], e.device)
        e.copy_(corrected_embedding(e, MASK, replacements, ratio))
