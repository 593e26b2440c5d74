"""The recurrent rival (an LSTM or GRU over the question, the answer in place): its size is matched
to the looped model's counted parameters, no label or later token reaches an answer, and it goes
through every user-facing command like any model kind."""
import json

import pytest
import torch

from trmlab.config import DataConfig, RunConfig, TrainConfig
from trmlab.data import load_splits
from trmlab.evaluation import evaluate
from trmlab.model import RecurrentConfig, build_model, count_params, match_recurrent
from trmlab.tokenizer import PAD


@pytest.fixture(scope="module")
def parity():
    """(tokenizer, splits) of prefix parity, 4-16 bits, OOD 32."""
    return load_splits(DataConfig(task="prefix_parity", answer_len=0, n_train=200, n_dev=50, n_test=50, n_ood=50,
                                  max_question_len=32, knobs={"train_difficulty": [4, 16], "ood_difficulty": [32, 32]}))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_rival_is_matched_to_the_loops_counted_parameters(cell):
    """Within ±5% of the rivals-cpu looped model on each of its tasks (the study's own match)."""
    from trmlab.study.presets import load_study
    study = load_study("rivals-cpu")
    for task, vocab in (("prefix_parity", 6), ("shell_game", 8)):
        spec = next(t for t in study.tasks if t.id == task)
        target = count_params(build_model(study.task_base(spec).model, vocab, device="meta"))
        cfg = match_recurrent(target, RecurrentConfig(cell=cell), vocab)
        assert abs(count_params(build_model(cfg, vocab)) - target) / target <= 0.05


@pytest.mark.parametrize("cell,delay,read_first", [("lstm", 0, False), ("gru", 0, False), ("lstm", 2, False),
                                                   ("gru", 0, True)])
def test_no_label_no_padding_and_no_later_token_reaches_an_answer(cell, delay, read_first, parity):
    """Nor a token more than `delay` past it; with a delay, the token `delay` past it does; reading
    first, every token of its own question does, and no other row's."""
    tokenizer, splits = parity
    torch.manual_seed(0)
    model = build_model(RecurrentConfig(d_model=16, cell=cell, delay=delay, read_first=read_first),
                        tokenizer.vocab_size).eval()
    split = splits["ood"]
    batch = split.batch(torch.arange(8))
    tokens = model.predict(batch)["tokens"][0]
    scrambled = {**batch, "answer": torch.where(batch["answer"] != PAD, 4, PAD)}
    assert torch.equal(model.predict(scrambled)["tokens"][0], tokens)
    wider = split.batch(torch.arange(8), width=batch["question"].shape[1] + 7)
    assert torch.equal(model.predict(wider)["tokens"][0][:, :tokens.shape[1]], tokens)
    alone = model.predict(split.batch(torch.arange(3, 4)))["tokens"][0]
    assert torch.equal(alone[0], tokens[3, :alone.shape[1]])
    later = batch["question"].clone()
    later[:, 20:] = torch.where(later[:, 20:] == PAD, PAD, 9 - later[:, 20:])  # flip every bit from position 20
    lengths = batch["question_len"]
    changed, before = model.forward(later, lengths), model.forward(batch["question"], lengths)
    if read_first:
        assert not torch.allclose(changed[:, 0], before[:, 0])
        return
    assert torch.allclose(changed[:, :20 - delay], before[:, :20 - delay])
    if delay:
        assert not torch.allclose(changed[:, 20 - delay], before[:, 20 - delay])


def test_it_learns_and_is_scored_in_place(parity):
    tokenizer, splits = parity
    torch.manual_seed(0)
    model = build_model(RecurrentConfig(d_model=32), tokenizer.vocab_size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = splits["train"].batch(torch.arange(64))
    first = model.loss(batch)[0].item()
    for _ in range(30):
        opt.zero_grad()
        loss = model.loss(batch)[0]
        loss.backward()
        opt.step()
    assert loss.item() < first / 2
    r = evaluate(model, splits["ood"], tokenizer, batch_size=16)
    assert r.steps == 1 and 0 <= r.accuracy <= 1 and len(r.predictions) == len(splits["ood"])
    assert all(len(p) == len(ex.question) for p, ex in zip(r.predictions, splits["ood"].examples))


def test_a_study_trains_it_and_every_command_reads_it(tmp_path, capsys):
    """Through a study cell (sized to the reasoner, costed), then export, eval --file (any length)
    and solve."""
    from trmlab.cli import main
    from trmlab.hub import export
    from trmlab.study import ModelSpec, StudyConfig, TaskSpec
    from trmlab.study.run import run_study
    from trmlab.tasks.text.prefix_parity import prefix_parity
    from .conftest import tiny_reasoner_config
    base = RunConfig(name="rnn", model=tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1, window=1),
                     data=DataConfig(task="prefix_parity", answer_len=0, n_train=64, n_dev=16, n_test=16, n_ood=16,
                                     max_question_len=32, knobs={"train_difficulty": [4, 8], "ood_difficulty": [16, 16]}),
                     train=TrainConfig(steps=2, batch_size=8, warmup=1, eval_every=2, checkpoint_every=2,
                                       precision="fp32", threads=1))
    study = StudyConfig("rnn", base, [TaskSpec("prefix_parity")], [ModelSpec("lstm", kind="recurrent")], seeds=[0])
    results = run_study(study, tmp_path, progress=False)
    cell = results["cells"][0]
    assert cell["kind"] == "recurrent" and cell["config"]["cell"] == "lstm"
    looped = count_params(build_model(base.model, 6, device="meta"))
    assert abs(cell["params"] - looped) / looped <= 0.05
    cost = cell["eval"]["ood"]["cost"]
    assert cost["steps_per_question"] == 1 and cost["flops_per_question"] > 0 and cost["ms_per_question"] > 0
    run = tmp_path / "rnn" / "prefix_parity" / "lstm" / "seed0"
    folder = export(run, tmp_path / "out")
    assert "RecurrentSeq.from_pretrained" in (folder / "README.md").read_text()
    lines = [{"question": q, "answer": prefix_parity(q)} for q in ("0110", "1" * 40, "01" * 100)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    for source in (run, folder):
        assert main(["eval", str(source), "--file", str(tmp_path / "q.jsonl")]) == 0
        assert "3 examples" in capsys.readouterr().out  # 40 and 200 bits: longer than any it trained on
    assert main(["solve", str(folder), "01" * 100]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "01" * 100 and len(lines[2].split()[-1]) == 200
