"""Parameters of the `mlm_mae` task, declared once.

Variants: `<set>.<condition>` for the fine-tuning sets `sst2`, `trec`, `mr`, `cr`, `subj`, `mpqa` — `plain` and
`corrected` (the post's embedding correction) on the 15% MLM checkpoint, `plain40` and `corrected40` on the 40% one (the
post's "larger mask ratio" conjecture), and `drop10` … `drop50` (DropToken at ratio 0.1 … 0.5 on the 15% checkpoint;
`plain` is ratio 0) — and `mae` (the MAE identity on the trained encoder, its speed-up, and the averaging gaps). A
fine-tuning run's seed is also its pre-training seed: plain and corrected of a seed share the checkpoint, the
fine-tuning seed and the batch order. The default config runs SST-2 and TREC; the paper setting all six, the CV sets
(MR, CR, Subj, MPQA) as 10-fold cross-validation inside each run, and `finetune_seeds` fine-tunings per pre-training
seed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kx_tasks.core.params import ConfigError, Params
from kx_tasks.core.stages import family
from kx_tasks.mlm_mae import corpus
from kx_tasks.mlm_mae.corpus import SETS

# Equivalence bands of the "no change" claims, accuracy: ±0.5 points where the test set is large (SST-2's 1,821;
# MR, Subj, MPQA over 10 folds), ±1.0 where it is small (TREC's 500, CR's 3,771 over folds).
BAND = {"sst2": 0.005, "trec": 0.010, "mr": 0.005, "cr": 0.010, "subj": 0.005, "mpqa": 0.005}
DROPS = {"drop10": 0.1, "drop15": 0.15, "drop25": 0.25, "drop50": 0.5}
# The MAE identity's readings (mae.<encoder>.<form>_<f32|f64>): the two forms of the identity, whose worst error must
# be at rounding level, and the two negative controls, whose smallest error must be far above it.
ENCODERS = ("trained", "random_post_ln", "random_pre_ln")
IDENTITY = ("masked", "literal")
CONTROLS = ("first_layer_only", "independent_masks")


class MlmMaeConfig(Params):
    condition: Literal["plain", "corrected", "mae"] = Field("plain", description="pinned by the variant")
    mask_ratio: float = Field(
        0.15, gt=0, lt=1, description="pinned by the variant: the pre-training checkpoint's selection rate"
    )
    drop_ratio: float = Field(0.0, ge=0, lt=1, description="pinned by the variant: DropToken's ratio in fine-tuning")
    epochs: int = Field(5, ge=1, description="fine-tuning epochs (the protocol's fixed 5; the last one is primary)")
    lr: float = Field(2e-4, gt=0, description="AdamW learning rate of fine-tuning, linear decay (the protocol's)")
    batch_size: int = Field(32, ge=1, description="fine-tuning batch")
    max_len: int = Field(64, ge=8, description="tokens per sentence, [CLS] and [SEP] included")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in fine-tuning")
    folds: int = Field(10, ge=2, description="cross-validation folds of MR, CR, Subj, MPQA (accuracy: mean over folds)")
    finetune_seeds: int = Field(
        1,
        ge=1,
        description="fine-tunings per pre-training seed (seed + 1000·j; paired "
        "across conditions; accuracy: their mean)",
    )
    train_size: int | None = Field(None, ge=10, description="fine-tune on the first N training sentences (smoke)")
    speed_steps: int = Field(30, ge=1, description="timed steps per ratio of the speed-ups (median)")
    mae_ratios: tuple[float, ...] = Field(
        (0.15, 0.5, 0.75), min_length=1, description="mae: mask ratios of the identity check, each in (0, 1)"
    )
    mae_masks: int = Field(200, ge=1, description="mae: corruptions per sentence of the model-averaging gaps")
    gap_sentences: int = Field(64, ge=1, le=872, description="mae: SST-2 dev sentences of the averaging gaps")

    @model_validator(mode="after")
    def _consistent(self):
        if any(not 0 < r < 1 for r in self.mae_ratios):
            raise ValueError(f"mae_ratios: every ratio must be in (0, 1), got {list(self.mae_ratios)}")
        if len(set(self.mae_ratios)) < len(self.mae_ratios):
            raise ValueError(f"mae_ratios: repeated ratios in {list(self.mae_ratios)}")
        if self.train_size is not None and self.batch_size > self.train_size:
            raise ValueError(f"batch_size: {self.batch_size} is more than the {self.train_size} train_size sentences")
        return self


def _pins(condition: str, mask: float = 0.15, drop: float = 0.0) -> dict:
    return {"condition": condition, "mask_ratio": mask, "drop_ratio": drop}


PINS = {"mae": _pins("mae")}
for _s in SETS:
    PINS |= {
        f"{_s}.plain": _pins("plain"),
        f"{_s}.corrected": _pins("corrected"),
        f"{_s}.plain40": _pins("plain", 0.4),
        f"{_s}.corrected40": _pins("corrected", 0.4),
    }
    PINS |= {f"{_s}.{name}": _pins("plain", 0.15, r) for name, r in DROPS.items()}
VARIANTS = tuple(PINS)


def checkpoint(variant: str) -> str:
    """The pre-training artefact a variant reads."""
    return "bert_mlm40" if PINS[variant]["mask_ratio"] == 0.4 else "bert_mlm15"


PART = Literal[corpus.PARTS]
HELD_OUT = Literal[corpus.SETS]


class PretrainParams(Params):
    """The parameters of the pre-trained checkpoints (artefacts bert_mlm15, bert_mlm40)."""

    corpus: tuple[PART, ...] = Field(
        ("tinyshakespeare", "cr", "mpqa", "sst2", "trec"),
        min_length=1,
        description="pre-training sources in order (sst2, trec: their training sentences; never MR or Subj, which "
        "hold SST-2's test sentences); the paper setting: [wikitext103]",
    )
    held_out: tuple[HELD_OUT, ...] = Field(
        ("sst2", "trec"),
        description="fine-tuning sets whose evaluation sentences leave the corpus (a CV set's "
        "every sentence); a set can be fine-tuned on this checkpoint only if listed",
    )
    vocab_size: int = Field(8000, ge=10, description="most frequent corpus words kept (plus 5 special tokens)")
    dim: int = Field(128, ge=8, description="hidden size (BERT-Tiny: 128)")
    layers: int = Field(2, ge=1, description="encoder blocks (BERT-Tiny: 2)")
    heads: int = Field(2, ge=1, description="attention heads (BERT-Tiny: 2)")
    ffn: int = Field(512, ge=8, description="feed-forward width (BERT-Tiny: 512)")
    max_len: int = Field(64, ge=8, description="tokens per packed sequence, [CLS] and [SEP] included")
    epochs: int = Field(
        6, ge=1, description="passes over the packed corpus (~0.55M words each; the protocol: ≈ 3M tokens in all)"
    )
    batch_size: int = Field(
        32,
        ge=2,
        description="sequences per step (at 128, the same CPU time leaves the MLM loss "
        "at the unigram entropy: too few steps)",
    )
    lr: float = Field(1e-3, gt=0, description="AdamW peak learning rate")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    warmup: float = Field(0.05, ge=0, lt=1, description="fraction of the steps with a linear warm-up")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in the encoder")
    max_sequences: int | None = Field(None, ge=1, description="use the first N packed sequences (a smoke run)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.dim % self.heads:
            raise ValueError(f"heads: {self.heads} does not divide dim {self.dim} (each head has dim / heads features)")
        if self.max_sequences is not None and self.max_sequences < self.batch_size:
            raise ValueError(
                f"max_sequences: {self.max_sequences} packed sequences cannot fill one batch of {self.batch_size}"
            )
        both = sorted(set(self.corpus) & set(self.held_out) & set(corpus.CV_SETS))
        if both:
            raise ValueError(
                f"held_out: {', '.join(both)} also in corpus (a cross-validated set's every sentence is "
                "an evaluation sentence: take it out of corpus)"
            )
        return self


def check_run(variant: str, cfg: MlmMaeConfig, artefacts: dict) -> None:
    """Before any job: what fine-tuning needs of its data and of the checkpoint it starts from."""
    name = family(variant)
    if name not in SETS:
        return
    sentences = corpus.training_sentences(name, cfg.folds)
    if cfg.batch_size > min(sentences, cfg.train_size or sentences):
        raise ValueError(f"batch_size: {cfg.batch_size} is more than the {sentences} {name} training sentences")
    artefact = checkpoint(variant)
    pretrained = artefacts.get(artefact)
    if pretrained is None:
        return
    if name not in pretrained.held_out:
        raise ConfigError(
            f"artefacts.{artefact}.params.held_out: {list(pretrained.held_out)} lacks {name}, which the variant "
            f"{variant} fine-tunes on (its evaluation sentences would be in the pre-training corpus): add it"
        )
    if cfg.max_len > pretrained.max_len:
        raise ConfigError(
            f"tasks.mlm_mae.params.max_len: {cfg.max_len} is beyond the {pretrained.max_len} positions of "
            f"{artefact} (artefacts.{artefact}.params.max_len), which the variant {variant} fine-tunes"
        )
