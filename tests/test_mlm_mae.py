"""mlm_mae's exact parts: the corruption and its expectation (the post's correction formula, by Monte Carlo), the
MAE identity against its two negative controls, and DropToken's shapes and positions."""

from __future__ import annotations

import pytest
import torch

from kx_tasks.mlm_mae import corruption, mae
from kx_tasks.mlm_mae.model import Encoder

MASK, SPECIAL = 4, 5  # ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK]


@pytest.mark.parametrize("ratio", [0.15, 0.4])
def test_correction_is_the_expected_corrupted_embedding(ratio):
    """10⁶ corrupted draws of one token: the mean input embedding equals the formula within 4 standard errors in every
    dimension, with the average over exactly the rows random replacement draws from."""
    g = torch.Generator().manual_seed(0)
    vocab, dim, token = 50, 16, 7
    embedding = torch.randn(vocab, dim, generator=g, dtype=torch.float64)
    random_ids = torch.arange(SPECIAL, vocab)
    ids = torch.full((10_000, 100), token)
    selected = corruption.select(torch.ones_like(ids, dtype=torch.bool), ratio, g)
    assert (selected.sum(1) == int(100 * ratio)).all()  # a fixed count per sequence
    corrupted = corruption.bert_corrupt(ids, selected, MASK, random_ids, g).flatten()
    counts = torch.bincount(corrupted, minlength=vocab).double()
    p = counts / counts.sum()
    mean = p @ embedding
    se = ((p @ embedding**2 - mean**2) / counts.sum()).sqrt()
    formula = corruption.corrected_embedding(embedding, MASK, random_ids, ratio)[token]
    assert ((mean - formula).abs() / se).max() < 4
    wrong = corruption.corrected_embedding(embedding, MASK, torch.arange(vocab), ratio)[token]  # bert4keras's Avg
    assert ((mean - wrong).abs() / se).max() > 4  # the test can tell the two averages apart


def test_post_formula_at_bert_rates():
    e = torch.randn(20, 8, dtype=torch.float64)
    rows = torch.arange(SPECIAL, 20)
    avg = e[rows].mean(0)
    expected = 0.85 * e + 0.15 * (0.8 * e[MASK] + 0.1 * e + 0.1 * avg)
    assert torch.allclose(corruption.corrected_embedding(e, MASK, rows, 0.15), expected, atol=1e-15)


def test_corruption_never_touches_special_tokens():
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(SPECIAL, 30, (64, 20), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    maskable = ids >= SPECIAL
    selected = corruption.select(maskable, 0.5, g)
    assert not selected[:, [0, -1]].any() and (selected.sum(1) == 9).all()


@pytest.mark.parametrize("pre_ln", [True, False], ids=["pre-LN (MAE)", "post-LN (BERT)"])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)], ids=["float32", "float64"])
def test_mae_identity_holds_and_its_controls_fail(pre_ln, dtype, tol):
    g = torch.Generator().manual_seed(2)
    torch.manual_seed(0)
    encoder = Encoder(vocab=40, dim=64, layers=4, heads=2, ffn=128, max_len=64, pre_ln=pre_ln).to(dtype).eval()
    with torch.no_grad():  # weights far from BERT's small init, so attention is far from uniform (as after training)
        for p in encoder.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3, generator=g)
    ids = torch.randint(SPECIAL, 40, (8, 50), generator=g)
    x = encoder.embed(ids)
    for ratio in (0.15, 0.5, 0.75):
        err = mae.identity_errors(encoder, x, ratio, g)
        assert err["masked"] <= tol and err["literal"] <= tol, (ratio, err)
        assert err["first_layer_only"] > 1e3 * tol and err["independent_masks"] > 1e3 * tol, (ratio, err)


def test_droptoken_keeps_positions_and_special_tokens():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(SPECIAL, 30, (4, 12), generator=g)
    ids[:, 0] = 2
    ids[0, 8:] = 0  # a shorter sequence: [SEP] at 7, padding after
    ids[0, 7] = 3
    ids[1:, -1] = 3
    droppable = ids >= SPECIAL
    out, pos, keep = corruption.drop_tokens(ids, droppable, 0.5, pad_id=0, generator=g)
    for row in range(4):
        n = int(droppable[row].sum())
        kept = pos[row][keep[row]]
        assert keep[row].sum() == (ids[row] != 0).sum() - n // 2
        assert (kept.diff() > 0).all()  # original order, original positions
        assert torch.equal(out[row][keep[row]], ids[row][kept])
        assert out[row][0] == 2 and 3 in out[row][keep[row]].tolist()  # [CLS] and [SEP] stay


def test_unknown_words_are_words_and_special_tokens_are_not():
    from kx_tasks.mlm_mae import text

    ids = torch.tensor([[text.CLS, 7, text.UNK, text.MASK, 9, text.SEP, text.PAD]])
    assert text.is_word(ids).tolist() == [[False, True, True, False, True, False, False]]
    out, pos, keep = corruption.drop_tokens(ids, text.is_word(ids), 0.7, text.PAD)  # ⌊0.7·3⌋ = 2 of 3 words dropped
    assert keep.sum() == 4 and pos[0][keep[0]].tolist()[0] == 0 and text.SEP in out[0].tolist()
    assert corruption.random_ids(12).tolist() == list(range(len(text.SPECIAL), 12))  # [UNK] is never drawn


def test_tokenizer_is_deterministic_and_reserves_the_special_tokens():
    from kx_tasks.mlm_mae import text

    corpus = ["The cat sat.", "the dog sat!", "a cat, a dog"]
    tok = text.Tokenizer.build(corpus, size=4)
    assert tok.vocab[:5] == list(text.SPECIAL) and tok.vocab[5:] == ["a", "cat", "dog", "sat"]  # ties: alphabetical
    assert tok.encode("cat flew") == [tok.index["cat"], text.UNK]
    rows = tok.batch(["a cat sat", "dog"], max_len=4)
    assert rows.tolist() == [
        [text.CLS, tok.index["a"], tok.index["cat"], text.SEP],
        [text.CLS, tok.index["dog"], text.SEP, text.PAD],
    ]


def test_evaluation_sentences_leave_the_corpus_and_packing_respects_the_length():
    from kx_tasks.mlm_mae import text

    kept, dropped = text.without(["A good film .", "a good film", "bad", "fine", "a good-film"], ["a GOOD film ."])
    assert kept == ["bad", "fine"] and dropped == 3  # case, punctuation and spacing ignored
    packed = text.pack([[5] * 3, [6] * 3, [7] * 10], max_len=8)
    assert packed.tolist() == [[2, 5, 5, 5, 6, 6, 6, 3], [2, 7, 7, 7, 7, 7, 7, 3]]


def _npz(path, name: str, arrays: dict):
    import json

    import numpy as np

    from kx_tasks.core.data import catalogue

    facts = json.dumps({"dataset": name, "arrays": catalogue.facts_of(arrays)}, sort_keys=True)
    np.savez_compressed(path, **arrays, **{catalogue.FACTS: np.array(facts)})
    return path


@pytest.fixture(scope="module")
def toy_text(tmp_path_factory):
    """Five prepared text sets in kx's format: sentences whose label is which of two word groups they use."""
    import numpy as np

    tmp = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(0)
    groups = [[f"good{i}" for i in range(8)], [f"bad{i}" for i in range(8)]]
    filler = [f"w{i}" for i in range(30)]

    def sentences(n: int):
        y = rng.integers(0, 2, n)
        out = [" ".join(rng.choice(groups[c], 3).tolist() + rng.choice(filler, rng.integers(3, 9)).tolist()) for c in y]
        return np.array(out), y.astype(np.uint8)

    paths = {}
    tr, ytr = sentences(400)
    dv, ydv = sentences(60)
    te, yte = sentences(80)
    paths["sst2"] = _npz(
        tmp / "sst2.npz",
        "sst2",
        {"text_train": tr, "y_train": ytr, "text_dev": dv, "y_dev": ydv, "text_test": te, "y_test": yte},
    )
    qt, yq = sentences(600)
    qe, yqe = sentences(80)
    paths["trec"] = _npz(
        tmp / "trec.npz",
        "trec",
        {
            "text_train": qt,
            "fine_train": qt,
            "text_test": qe,
            "fine_test": qe,
            "classes": np.array(["A", "B"]),
            "y_train": yq,
            "y_test": yqe,
        },
    )
    for name in ("cr", "mpqa"):
        t, y = sentences(200)
        paths[name] = _npz(tmp / f"{name}.npz", name, {"text_all": t, "y_all": y})
    wiki = " = Heading = \n" + "\n".join(" . ".join(sentences(4)[0]) + " . " for _ in range(50))
    wb = np.frombuffer(wiki.encode(), dtype=np.uint8).copy()
    paths["wikitext103"] = _npz(tmp / "wiki.npz", "wikitext103", {"text_train": wb, "text_test": wb[:1]})
    lines = "\n".join(sentences(300)[0]).encode()
    paths["tinyshakespeare"] = _npz(
        tmp / "ts.npz",
        "tinyshakespeare",
        {"text_train": np.frombuffer(lines, dtype=np.uint8).copy(), "text_test": np.zeros(1, np.uint8)},
    )
    return paths


def _pretrained(tmp, data: dict, ratio_name: str = "bert_mlm15", seed: int = 0, **params):
    from kx_tasks.core import runner, settings
    from kx_tasks.core.registry import discover_artefacts

    art = discover_artefacts()[ratio_name]
    small = {"epochs": 1, "vocab_size": 100, "dim": 32, "ffn": 64, "batch_size": 16}
    cfg = {"device": "cpu", "artefacts": {ratio_name: {"params": {**small, **params}}}}
    out = tmp / ratio_name / f"seed{seed}"
    runner.build_artefact(art, settings.make_artefact_run(cfg, art, f"seed{seed}"), data, out)
    return out


def _stages(tmp, variant: str, data: dict, checkpoint_dir, **params) -> dict:
    from kx_tasks.core import runner
    from kx_tasks.core.registry import discover
    from kx_tasks.core.settings import Run
    from kx_tasks.mlm_mae.config import PINS, MlmMaeConfig, checkpoint

    task = discover()["mlm_mae"]
    inputs = {**data, checkpoint(variant): checkpoint_dir, "checkpoints": tmp / "ck"}
    metrics = None
    for stage in ("train", "evaluate"):
        cfg = MlmMaeConfig(
            **{"epochs": 2, "speed_steps": 2, "mae_masks": 3, "gap_sentences": 8, **params, **PINS[variant]}
        )
        metrics = runner.run_stage(task, stage, Run("mlm_mae", variant, 0, "cpu", 1, cfg), inputs, tmp / stage)
        inputs[stage] = tmp / stage
    return metrics


def test_task_runs_end_to_end_and_reports_what_its_claims_read(tmp_path, toy_text):
    import json

    from kx_tasks.core.registry import discover

    task = discover()["mlm_mae"]
    bert = _pretrained(tmp_path, toy_text)
    facts = json.loads((bert / "bert.json").read_text())
    assert facts["dropped.sst2_train"] >= 0 and facts["corpus.cr"] == 200  # the corpus and what left it, recorded
    for variant in ("mae", "sst2.plain", "sst2.corrected", "sst2.drop50", "sst2.drop10"):
        metrics = _stages(tmp_path / variant, variant, toy_text, bert)
        claimed = {c.metric for c in task.claims if c.variants and variant in c.variants}
        assert claimed <= set(metrics), (variant, claimed - set(metrics))
        if variant == "mae":
            assert metrics["mae.masked_f32"] <= 1e-5 and metrics["mae.literal_f64"] <= 1e-12
            for encoder in ("trained", "random_post_ln", "random_pre_ln"):  # each read, the claims read the worst
                assert metrics[f"mae.{encoder}.masked_f64"] <= metrics["mae.masked_f64"]
                assert metrics[f"mae.{encoder}.first_layer_only_f32"] >= metrics["mae.first_layer_only_f32"]
            assert metrics["mae.random_pre_ln.independent_masks_f32"] > 1e-3  # (the toy BERT is barely trained)
            assert metrics["correction_mc_z"] < 4 and 0 < metrics["pretrain.unigram_entropy"] < 10
        else:
            assert 0 <= metrics["test_acc_last"] <= 1 and metrics["devsel_epoch"] in (1.0, 2.0)
    a = (tmp_path / "sst2.plain" / "evaluate" / "metrics.json").read_bytes()
    again = _stages(tmp_path / "again", "sst2.plain", toy_text, bert)
    assert (tmp_path / "again" / "evaluate" / "metrics.json").read_bytes() == a, again


def test_pretraining_runs_once_per_seed_and_feeds_every_finetuning_job_of_that_seed():
    from kx_tasks.core import settings
    from kx_tasks.core.registry import discover, discover_artefacts

    task, found = discover()["mlm_mae"], discover_artefacts()
    dirs = {(v, s): settings.artefact_inputs(task, "train", v, s, found) for v in task.variants for s in (0, 1)}
    assert dirs[("sst2.plain", 0)] == dirs[("trec.drop50", 0)] == dirs[("sst2.corrected", 0)] == dirs[("mae", 0)]
    assert dirs[("sst2.plain", 0)] != dirs[("sst2.plain", 1)]
    assert (
        list(dirs[("sst2.plain40", 0)]) == ["bert_mlm40"] and dirs[("sst2.plain40", 0)] == dirs[("trec.corrected40", 0)]
    )


def test_cross_validated_set_runs_every_fold_and_fine_tuning_seed_on_a_checkpoint_that_held_it_out(tmp_path, toy_text):
    import json

    bert = _pretrained(tmp_path, toy_text, corpus=["wikitext103", "mpqa"], held_out=["sst2", "trec", "cr"])
    facts = json.loads((bert / "bert.json").read_text())
    assert facts["corpus.wikitext103"] == 200 and "corpus.cr" not in facts  # 50 paragraphs of 4 sentences
    metrics = _stages(tmp_path / "cr", "cr.plain", toy_text, bert, folds=2, finetune_seeds=2)
    assert metrics["fits"] == 4 and 0 <= metrics["test_acc_last"] <= 1
    assert sorted(p.parent.name for p in (tmp_path / "cr" / "train").rglob("evals.jsonl")) == [
        "fold0.ft0",
        "fold0.ft1",
        "fold1.ft0",
        "fold1.ft1",
    ]
    default = _pretrained(tmp_path / "default", toy_text)  # CR is in its corpus
    with pytest.raises(ValueError, match=r"held_out: cr is not held out"):
        _stages(tmp_path / "refused", "cr.plain", toy_text, default, folds=2)


def test_cv_split_partitions_every_sentence_into_one_test_fold_with_a_fixed_dev_tenth():
    import numpy as np

    from kx_tasks.mlm_mae.corpus import cv_split

    parts = [cv_split(103, 10, k) for k in range(10)]
    tests = np.concatenate([test for _, _, test in parts])
    assert sorted(tests.tolist()) == list(range(103))  # each sentence tested exactly once
    for train, dev, test in parts:
        assert not set(train) & set(dev) and not set(test) & (set(train) | set(dev))
        assert len(train) + len(dev) + len(test) == 103 and len(dev) == (103 - len(test)) // 10
    again = cv_split(103, 10, 3)
    assert all((a == b).all() for a, b in zip(again, parts[3], strict=True))


def test_pretraining_corpus_parameters_are_checked_and_pick_the_datasets():
    from pydantic import ValidationError

    from kx_tasks.mlm_mae.config import PretrainParams
    from kx_tasks.mlm_mae.corpus import datasets_of

    assert datasets_of(PretrainParams()) == ("tinyshakespeare", "cr", "mpqa", "sst2", "trec")
    paper = PretrainParams(corpus=("wikitext103",), held_out=("sst2", "trec", "mr", "cr", "subj", "mpqa"))
    assert datasets_of(paper) == ("wikitext103", "sst2", "trec", "mr", "cr", "subj", "mpqa")
    with pytest.raises(ValidationError, match="held_out: cr also in corpus"):
        PretrainParams(held_out=("sst2", "cr"))
    with pytest.raises(ValidationError, match="corpus"):
        PretrainParams(corpus=("mr",))  # MR holds SST-2's test sentences: never a corpus part


def test_wikitext_sentences_cut_paragraphs_at_full_stops_and_skip_headings():
    from kx_tasks.mlm_mae.corpus import wikitext_sentences

    raw = b" = Valkyria = \n \n The game began in 2010 . It sold @,@ well . \n = = Plot = = \n A short line \n"
    assert wikitext_sentences(raw) == ["The game began in 2010 .", "It sold @,@ well .", "A short line"]
