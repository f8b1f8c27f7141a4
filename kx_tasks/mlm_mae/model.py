"""A small BERT from scratch: token and position embeddings, post-LN (BERT's) or pre-LN (MAE's ViT block) encoder
blocks, an MLM head tied to the input embedding and computed only at the selected positions, and a [CLS] classifier.

Attention takes an optional column mask `keep` (B, L) — True for the tokens every query may attend to — in one of two
forms: `masked` (scores of dropped keys set to −∞ before the softmax: a key-padding mask) or `literal` (the post's
form: softmax over every key, multiply the columns by the mask, divide each row by its sum). With the same mask in
every layer both equal an encoder that never saw the dropped tokens, at the kept tokens (the post's MAE identity);
`layer_keep` gives each layer its own mask (the negative controls: true attention dropout, or the first layer only).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.io import read_json
from kx_tasks.mlm_mae import text


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None, form: str = "masked") -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        if keep is None:
            attn = scores.softmax(dim=-1)
        elif form == "masked":
            attn = scores.masked_fill(~keep[:, None, None, :], float("-inf")).softmax(dim=-1)
        elif form == "literal":
            attn = scores.softmax(dim=-1) * keep[:, None, None, :].to(scores.dtype)
            attn = attn / attn.sum(dim=-1, keepdim=True)
        else:
            raise ValueError(f"form: {form!r} is not 'masked' or 'literal'")
        return self.out((attn @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Post-LN (BERT: x = LN(x + attn(x)); x = LN(x + mlp(x))) or pre-LN (MAE/timm ViT: x = x + attn(LN(x)); …)."""

    def __init__(self, dim: int, heads: int, ffn: int, pre_ln: bool, dropout: float = 0.0):
        super().__init__()
        self.pre_ln = pre_ln
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None, form: str = "masked") -> torch.Tensor:
        if self.pre_ln:
            x = x + self.drop(self.attn(self.ln1(x), keep, form))
            return x + self.drop(self.mlp(self.ln2(x)))
        x = self.ln1(x + self.drop(self.attn(x, keep, form)))
        return self.ln2(x + self.drop(self.mlp(x)))


def _bert_init(module: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02²) weights and embeddings, zero biases (LayerNorm keeps 1 and 0)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


class Encoder(nn.Module):
    def __init__(
        self,
        vocab: int,
        dim: int = 128,
        layers: int = 2,
        heads: int = 2,
        ffn: int = 512,
        max_len: int = 64,
        pre_ln: bool = False,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(max_len, dim)
        self.pre_ln = pre_ln
        self.ln_in = nn.Identity() if pre_ln else nn.LayerNorm(dim)  # BERT normalises the embeddings
        self.ln_out = nn.LayerNorm(dim) if pre_ln else nn.Identity()  # a pre-LN stack ends with one
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, ffn, pre_ln, dropout) for _ in range(layers)])
        self.apply(_bert_init)

    def embed(self, ids: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        if positions is None:
            positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        return self.drop(self.ln_in(self.tokens(ids) + self.positions(positions)))

    def encode(
        self,
        x: torch.Tensor,
        keep: torch.Tensor | None = None,
        form: str = "masked",
        layer_keep: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Embedded tokens (B, L, D) -> outputs; `keep` masks columns in every layer, `layer_keep` per layer."""
        for i, block in enumerate(self.blocks):
            x = block(x, layer_keep[i] if layer_keep is not None else keep, form)
        return self.ln_out(x)

    def forward(
        self, ids: torch.Tensor, positions: torch.Tensor | None = None, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.encode(self.embed(ids, positions), keep)


class MLMHead(nn.Module):
    """BERT's head: dense–GELU–LN, then logits against the (tied) input embedding plus a bias."""

    def __init__(self, embedding: nn.Embedding):
        super().__init__()
        dim = embedding.embedding_dim
        self.transform = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))
        self.embedding = embedding
        self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.transform(hidden) @ self.embedding.weight.T + self.bias


class BertMLM(nn.Module):
    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder
        self.head = MLMHead(encoder.tokens)

    def loss(self, corrupted: torch.Tensor, targets: torch.Tensor, selected: torch.Tensor, pad_id: int) -> torch.Tensor:
        """Cross-entropy at the selected positions only (the head runs on those rows alone)."""
        hidden = self.encoder(corrupted, keep=corrupted != pad_id)
        logits = self.head(hidden[selected])
        return F.cross_entropy(logits, targets[selected])


class Classifier(nn.Module):
    """[CLS] pooling (BERT's pooler: dense–tanh) and a linear layer, on a copy of the pre-trained encoder."""

    def __init__(self, encoder: Encoder, classes: int, dropout: float = 0.1):
        super().__init__()
        dim = encoder.tokens.embedding_dim
        self.encoder = encoder
        self.pool = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Dropout(dropout), nn.Linear(dim, classes))

    def forward(
        self, ids: torch.Tensor, positions: torch.Tensor | None = None, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.pool(self.encoder(ids, positions, keep)[:, 0])


def load_encoder(folder: Path, device, dropout: float) -> tuple[Encoder, text.Tokenizer, dict]:
    facts = read_json(folder / "bert.json")
    tok = text.Tokenizer(read_json(folder / "vocab.json"))
    encoder = Encoder(
        len(tok), facts["dim"], facts["layers"], facts["heads"], facts["ffn"], facts["max_len"], dropout=dropout
    )
    load_weights(encoder, folder / "encoder.pt", device)
    return encoder.to(device), tok, facts
