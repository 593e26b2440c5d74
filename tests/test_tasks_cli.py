"""The `data` command: list, show, stats, export, and one-line errors."""
import argparse
import json

import pytest

from trmlab.tasks.cli import add_data_parser


def run(*argv):
    parser = argparse.ArgumentParser(prog="trmlab")
    add_data_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.func(args)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TRMLAB_DATA_DIR", raising=False)
    monkeypatch.setattr("trmlab.tasks.real.gsm8k.hub_available", lambda: False)
    (tmp_path / "gsm8k").mkdir()
    rows = [{"question": f"Case {i}: Ann has {i} pens and buys 2. How many pens does she have?",
             "answer": f"{i}+2 = <<{i}+2={i + 2}>>{i + 2}\n#### {i + 2}"} for i in range(300)]
    (tmp_path / "gsm8k" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_list_shows_families_real_sets_and_knobs(capsys):
    assert run("list") == 0
    out = capsys.readouterr().out
    for name in ("arithmetic", "word_problems", "ordering", "comparison", "syllogisms", "gsm8k",
                 "orca_math", "mawps", "gym"):
        assert name in out
    assert "train_difficulty=(1, 4)" in out and "max_steps=None" in out


def test_show_prints_difficulty_and_solution(capsys):
    assert run("show", "arithmetic", "--n", "3", "-k", "train_difficulty=5", "--seed", "2") == 0
    out = capsys.readouterr().out
    assert out.count("difficulty 5") == 3 and "solution:" in out and "Q: " in out


def test_stats_procedural_and_real(capsys, data_dir):
    assert run("stats", "comparison", "--n", "200", "-k", "train_difficulty=4") == 0
    out = capsys.readouterr().out
    assert "difficulty: 4: 200" in out and "question tokens (char)" in out and "(bpe, vocab" in out
    assert "majority answer: " in out  # the chance level of a constant guess
    assert run("stats", "gsm8k", "--data-dir", str(data_dir), "-k", "max_chars=64", "--split", "dev") == 0
    out = capsys.readouterr().out
    assert "of 300 items pass the filter" in out and "rejected, question too long (chars)" in out


def test_export_writes_jsonl(tmp_path):
    out = tmp_path / "ex.jsonl"
    assert run("export", "syllogisms", "--out", str(out), "--n", "7", "--split", "ood") == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 7 and {"question", "answer", "difficulty", "family", "solution"} <= set(rows[0])


@pytest.mark.parametrize("argv, message", [
    (["show", "nope"], "unknown task 'nope'; known tasks:"),
    (["show", "arithmetic", "-k", "bogus=1"], "its knobs:"),
    (["show", "arithmetic", "-k", "nonsense"], "must look like name=value"),
    (["show", "gsm8k"], "TRMLAB_DATA_DIR"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, data_dir, argv, message):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("trmlab data: error:")
