import json
from dataclasses import replace

import pytest
import torch

from trmlab.config import RunConfig, apply_overrides, preset, transformer_twin
from trmlab.data import IndexStream, TooLongError, encode, load_splits
from trmlab.precision import resolve_run
from trmlab.tasks import make_task, normalize_answer
from trmlab.tokenizer import CharTokenizer
from trmlab.training import checkpoint as ckpt
from trmlab.training.trainer import Trainer, load_model, train


def smoke_config(kind="reasoner", steps=6) -> RunConfig:
    cfg = preset("smoke")
    cfg = transformer_twin(cfg) if kind == "transformer" else cfg
    cfg.train = replace(cfg.train, steps=steps, eval_every=3, checkpoint_every=3, log_every=1)
    return cfg


# ----- data -----

def test_task_is_deterministic_and_splits_are_disjoint():
    task = make_task("story_arithmetic", train_difficulty=(1, 3), ood_difficulty=(4, 5))
    train = task.examples("train", 3000, seed=7)
    assert train == task.examples("train", 3000, seed=7)
    assert train != task.examples("train", 3000, seed=8)
    train_q = {e.question.lower() for e in train}
    for split in ("dev", "test", "ood"):
        other = task.examples(split, 300, seed=7)
        assert not train_q & {e.question.lower() for e in other}, split
    assert {e.difficulty for e in task.examples("ood", 200)} <= {4, 5}
    assert {e.difficulty for e in train} == {1, 2, 3}


def test_story_answers_follow_their_solution():
    for ex in make_task("story_arithmetic").examples("train", 300):
        value = None
        for step in ex.solution.split("; "):
            lhs, rhs = step.split("=")
            assert eval(lhs) == int(rhs)  # noqa: S307 - our own digits and operators
            value = int(rhs)
        assert normalize_answer(ex.answer) == str(value)
        assert len(ex.solution.split("; ")) == ex.difficulty


def test_too_long_questions_are_rejected_or_counted_never_truncated():
    examples = make_task("story_arithmetic").examples("dev", 50)
    tok = CharTokenizer()
    with pytest.raises(TooLongError, match="tokens"):
        encode(examples, tok, answer_len=4, max_question_len=40)
    kept = encode(examples, tok, answer_len=4, max_question_len=80, too_long="skip")
    assert kept.skipped == sum(len(e.question) > 80 for e in examples) > 0
    assert all(len(e.question) <= 80 for e in kept.examples)


def test_index_stream_resumes_where_it_stopped():
    a = IndexStream(10, seed=3)
    first = a.take(7)
    b = IndexStream(10, seed=3)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.take(25), b.take(25))
    assert sorted(first.tolist() + IndexStream(10, seed=3).take(10)[7:].tolist()) == list(range(10))


def test_overrides_and_unknown_fields():
    cfg = apply_overrides(preset("smoke"), ["train.steps=7", "model.n_sup=2", "data.knobs.max_operand=5"])
    assert cfg.train.steps == 7 and cfg.model.n_sup == 2 and cfg.data.knobs["max_operand"] == 5
    with pytest.raises(ValueError, match="no field"):
        apply_overrides(preset("smoke"), ["train.stepz=7"])
    with pytest.raises(ValueError, match="section"):
        apply_overrides(preset("smoke"), ["steps=7"])
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


# ----- checkpoints and resume -----

@pytest.mark.parametrize("kind", ["reasoner", "transformer", "recurrent_depth"])
def test_resume_gives_the_same_next_step_loss(kind, tmp_path, smoke_data):
    cfg = smoke_config("transformer" if kind == "transformer" else "reasoner", steps=6)
    if kind == "recurrent_depth":  # random depths and states: the objective's generator resumes too
        cfg.model = replace(cfg.model, recursion=kind, grad_iters=1)
    assert_resumes_exactly(cfg, tmp_path, smoke_data)


def assert_resumes_exactly(cfg, tmp_path, data) -> list[float]:
    """5 steps straight vs 3 steps, a checkpoint, a new Trainer resumed from it and 2 more: the same
    losses. Returns the straight run's losses."""
    straight = Trainer(cfg, tmp_path / "a", data=data, progress=False)
    losses = [straight.train_step()[0] for _ in range(5)]

    first = Trainer(cfg, tmp_path / "b", data=data, progress=False)
    for _ in range(3):
        first.train_step()
    first.save("last")
    resumed = Trainer(cfg, tmp_path / "b", data=data, progress=False)
    resumed.resume(tmp_path / "b" / "checkpoints" / "last.safetensors")
    assert resumed.step == 3
    assert [resumed.train_step()[0] for _ in range(2)] == losses[3:]
    return losses


def test_checkpoint_round_trip_and_best_kept(tmp_path, smoke_data):
    cfg = smoke_config(steps=6)
    result = train(cfg, tmp_path / "run", data=smoke_data, progress=False)
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    best = tmp_path / "run" / "checkpoints" / "best.safetensors"
    assert last.exists() and best.exists()
    model, loaded_cfg, tok, meta = load_model(last)
    # the checkpoint records the precision the run resolved train.precision=auto to
    assert loaded_cfg == resolve_run(cfg) and loaded_cfg.train.precision in ("bf16", "fp32")
    assert meta["step"] == 6 and meta["params"] == result.params
    for (n, p), (_, q) in zip(result.model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(p, q), n
    assert tok.to_dict() == CharTokenizer().to_dict()
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))  # nothing half-written
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any("dev_accuracy" in r for r in records) and any("loss" in r for r in records)
    with pytest.raises(FileExistsError):  # a finished run is not silently overwritten
        train(cfg, tmp_path / "run", data=smoke_data, progress=False)


@pytest.mark.parametrize("ties, kept_step", [("earlier", 6), ("later", 9)])
def test_a_dev_tie_keeps_the_earlier_or_the_later_checkpoint(ties, kept_step, tmp_path, smoke_data, monkeypatch):
    """Dev scores 0.5, 1.0, 1.0 at steps 3, 6, 9 (saturated, as in-distribution dev gets on the
    extrapolation tasks): `dev_ties` decides which of the tied checkpoints is tested."""
    scores = iter([0.5, 1.0, 1.0])
    monkeypatch.setattr(Trainer, "evaluate_dev", lambda self: next(scores))
    cfg = smoke_config(steps=9)
    cfg.train = replace(cfg.train, dev_ties=ties)
    result = train(cfg, tmp_path / "run", data=smoke_data, progress=False)
    _, meta = ckpt.load_checkpoint(tmp_path / "run" / "checkpoints" / "best.safetensors")
    assert meta["step"] == kept_step and meta["best_dev"] == result.best_dev == 1.0
    with pytest.raises(ValueError, match="dev_ties"):
        replace(cfg.train, dev_ties="latest")


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ckpt.CheckpointError, match="corrupt"):
        ckpt.load_checkpoint(bad)
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path / "missing.safetensors")


def test_truncated_checkpoint_is_a_clear_error(tmp_path, smoke_data):
    cfg = smoke_config(steps=3)
    train(cfg, tmp_path / "run", data=smoke_data, progress=False)
    path = tmp_path / "run" / "checkpoints" / "last.safetensors"
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError):
        load_model(cut)


def test_failed_write_leaves_the_old_checkpoint(tmp_path):
    path = tmp_path / "c.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.ones(3)}, {"step": 1})
    with pytest.raises(Exception):
        ckpt.save_checkpoint(path, {"w": "not a tensor"}, {"step": 2})
    tensors, meta = ckpt.load_checkpoint(path)
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_training_learns_something(tmp_path):
    """A short run must beat its initial loss clearly (catches a broken gradient path)."""
    cfg = smoke_config(steps=40)
    cfg.train = replace(cfg.train, eval_every=40, checkpoint_every=40, log_every=10)
    data = load_splits(cfg.data)
    result = train(cfg, tmp_path / "r", data=data, progress=False)
    losses = [h["loss"] for h in result.history if "loss" in h]
    assert losses[-1] < 0.8 * losses[0]


def test_config_that_cannot_work_is_a_clear_error(tmp_path, smoke_data):
    cfg = apply_overrides(smoke_config(), ["model.answer_len=6"])
    with pytest.raises(ValueError, match="answer_len"):
        Trainer(cfg, tmp_path, data=smoke_data, progress=False)


def test_compile_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch):
    """A compiler failure (here: a compile that raises when called) must not stop a run: the
    stacks warn once and run eagerly, and training gives the same losses as without compile."""
    import warnings

    def broken_compile(fn, **kw):
        def call(*a, **k):
            raise RuntimeError("no C++ compiler")
        return call

    cfg = preset("smoke")
    cfg.train.steps, cfg.train.threads = 3, 1
    eager = Trainer(cfg, tmp_path / "eager", progress=False).run().history
    monkeypatch.setattr(torch, "compile", broken_compile)
    cfg.train.compile = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = Trainer(cfg, tmp_path / "compiled", progress=False).run().history
    assert any("torch.compile failed" in str(w.message) for w in caught)
    assert [h.get("loss") for h in fallback] == [h.get("loss") for h in eager]
