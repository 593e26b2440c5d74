"""Real data sets on small files written here in the real formats, the shared filter,
de-duplication, bad input, the reasoning-gym wrapper; and the shared data when present."""
import csv
import json
import sys
import types
from pathlib import Path

import pytest

from trmlab.tasks import DataFormatError, make_task
from trmlab.tasks.real import base as real
from trmlab.tasks.base import in_split, normalize_question

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No data directory from the environment and no hub, unless a test sets one."""
    monkeypatch.delenv(real.ENV_VAR, raising=False)
    monkeypatch.setattr(real, "hub_available", lambda: False)
    for module in ("gsm8k", "orca_math"):
        monkeypatch.setattr(f"trmlab.tasks.real.{module}.hub_available", lambda: False)


def gsm8k_line(i: int) -> dict:
    a, b = i % 50 + 2, i % 7 + 1
    return {"question": f"Ann has {a} pens and buys {b} boxes of 2 pens (case {i}). How many pens?",
            "answer": f"Boxes give {b}*2 = <<{b}*2={2 * b}>>{2 * b} pens.\n"
                      f"So {a}+{2 * b} = <<{a}+{2 * b}={a + 2 * b}>>{a + 2 * b}.\n#### {a + 2 * b:,}"}


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def gsm8k_dir(tmp_path):
    write_jsonl(tmp_path / "gsm8k" / "train.jsonl", [gsm8k_line(i) for i in range(400)])
    return tmp_path


def questions(task, split, n=10_000):
    return {normalize_question(e.question) for e in task.examples(split, n)}


# ----------------------------------------------------------------- GSM8K

def test_gsm8k_parses_answer_steps_and_solution(gsm8k_dir):
    task = make_task("gsm8k", data_dir=str(gsm8k_dir))
    examples = task.examples("train", 10_000) + task.examples("dev", 10_000) + task.examples("test", 10_000)
    assert len(examples) == 400
    e = next(e for e in examples if "(case 1)" in e.question)
    assert (e.answer, e.difficulty, e.solution, e.family) == ("7", 2, "2*2=4; 3+4=7", "gsm8k")
    assert all(e.answer.isdigit() for e in examples)  # "1,234" -> "1234"


def test_gsm8k_steps_are_lines_when_there_are_no_calculator_notes(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"question": "Q?", "answer": "First.\nThen.\nDone.\n#### 3"}])
    record = real.read_rows(path)
    from trmlab.tasks.real.gsm8k import parse_gsm8k
    r = parse_gsm8k(next(record))
    assert (r.answer, r.steps) == ("3", 3)


def test_gsm8k_dev_is_carved_by_question_hash_and_is_deterministic(gsm8k_dir):
    task = make_task("gsm8k", data_dir=str(gsm8k_dir))
    dev = task.examples("dev", 10_000)
    assert dev and all(in_split(e.question, "dev") for e in dev)
    assert make_task("gsm8k", data_dir=str(gsm8k_dir)).examples("dev", 10_000) == dev
    assert task.examples("train", 5, seed=1) != task.examples("train", 5, seed=2)


def test_official_test_file_is_test_and_its_questions_never_train(gsm8k_dir):
    train_rows = [gsm8k_line(i) for i in range(400)]
    test_file = write_jsonl(gsm8k_dir / "gsm8k" / "test.jsonl", train_rows[:30] + [gsm8k_line(1000)])
    task = make_task("gsm8k", data_dir=str(gsm8k_dir))
    test, train, dev = questions(task, "test"), questions(task, "train"), questions(task, "dev")
    assert len(test) == 31
    assert not test & train and not dev & train and not test & dev
    assert task.report().rejected["duplicate question"] == 30
    assert len(train) + len(dev) == 370  # all of the training file but its copies of test questions
    assert make_task("gsm8k", train_file=str(gsm8k_dir / "gsm8k" / "train.jsonl"),
                     test_file=str(test_file)).examples("test", 100)


def test_gsm8k_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "gsm8k" / "train.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps(gsm8k_line(0)) + "\n" + json.dumps(gsm8k_line(1)) + "\n{not json\n")
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 3: not valid JSON"):
        make_task("gsm8k", data_dir=str(tmp_path)).examples("train", 5)
    write_jsonl(path, [gsm8k_line(0), {"question": "Q?", "answer": "no final line"}])
    with pytest.raises(DataFormatError, match=r"line 2: answer does not end with"):
        make_task("gsm8k", data_dir=str(tmp_path)).examples("train", 5)
    write_jsonl(path, [{"question": "Q?"}])
    with pytest.raises(DataFormatError, match=r"line 1: missing text field\(s\) answer"):
        make_task("gsm8k", data_dir=str(tmp_path)).examples("train", 5)


def test_missing_data_names_the_variable_and_the_knob(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="TRMLAB_DATA_DIR.*data_dir"):
        make_task("gsm8k").examples("train", 5)
    with pytest.raises(FileNotFoundError, match="TRMLAB_DATA_DIR.*data_dir"):
        make_task("mawps").examples("train", 5)
    with pytest.raises(FileNotFoundError, match="train.jsonl not found"):
        make_task("gsm8k", data_dir=str(tmp_path)).examples("train", 5)


def test_data_dir_from_environment(gsm8k_dir, monkeypatch):
    monkeypatch.setenv(real.ENV_VAR, str(gsm8k_dir))
    assert len(make_task("gsm8k").examples("train", 5)) == 5


# ----------------------------------------------------------------- the filter

def test_filter_counts_every_rejection_reason(gsm8k_dir):
    rows = [gsm8k_line(i) for i in range(400)]
    rows[0] = {"question": "x" * 300 + "?", "answer": "<<1+1=2>>2\n#### 2"}
    rows[1] = {"question": "Half?", "answer": "<<1/2=0.5>>0.5\n#### 0.5"}
    rows[2] = {"question": "Big?", "answer": "<<10*10=100>>100\n#### 100000"}
    rows[3] = {"question": "Long?", "answer": "<<1+1=2>><<2+1=3>><<3+1=4>><<4+1=5>>\n#### 5"}
    rows.append(dict(rows[10]))  # a duplicate
    write_jsonl(gsm8k_dir / "gsm8k" / "train.jsonl", rows)
    task = make_task("gsm8k", data_dir=str(gsm8k_dir), max_chars=200, max_steps=3, integer_only=True,
                     max_answer=1000)
    report = task.report()
    assert report.total == 401
    assert report.rejected == {"question too long (chars)": 1, "answer not an integer": 1,
                               "answer too large": 1, "too many solution steps": 1, "duplicate question": 1}
    assert report.passed == 396 == sum(report.splits[s] for s in ("train", "dev", "test"))
    tokens = make_task("gsm8k", data_dir=str(gsm8k_dir), max_tokens=100).report()
    assert tokens.rejected["question too long (tokens)"] == 1
    assert any("pass the filter" in line for line in report.lines())


def test_ood_holds_held_out_questions_with_too_many_steps(tmp_path):
    rows = [{"question": f"Case {i}: how many?", "answer": "<<1+1=2>>" * (1 + i % 5) + f"\n#### {i}"}
            for i in range(600)]
    write_jsonl(tmp_path / "gsm8k" / "train.jsonl", rows)
    task = make_task("gsm8k", data_dir=str(tmp_path), max_steps=2)
    assert max(e.difficulty for e in task.examples("train", 10_000)) == 2
    ood = task.examples("ood", 10_000)
    assert ood and min(e.difficulty for e in ood) == 3
    assert not questions(task, "ood") & questions(task, "train")


def test_final_number_extraction():
    assert real.final_number("So the total is \\boxed{1,250}.") == "1250"
    assert real.final_number("She has 3 + 4 = 7 apples.\nThe answer is 7.") == "7"
    assert real.final_number("It costs $12.50 in all.") == "12.5"
    assert real.final_number("Half of 10 is 5, so 5.0 remain.") == "5"
    assert real.final_number("There is no number here.") is None


# ----------------------------------------------------------------- Orca-Math

ORCA = [{"question": f"Tom has {i} apples and eats 1. How many are left?",
         "answer": f"Tom had {i} apples.\nAfter eating one: {i} - 1 = {i - 1}.\nSo Tom has {i - 1} apples left."}
        for i in range(2, 202)] + [{"question": "Name the color of the sky.", "answer": "Blue, usually."}]


def test_orca_jsonl_drops_and_counts_items_without_a_number(tmp_path):
    write_jsonl(tmp_path / "orca_math" / "train.jsonl", ORCA)
    task = make_task("orca_math", data_dir=str(tmp_path))
    report = task.report()
    assert report.total == 201 and report.rejected == {"no numeric final answer": 1}
    e = next(e for e in task.examples("train", 1000) if e.question.startswith("Tom has 10 "))
    assert (e.answer, e.difficulty) == ("9", 3)


def test_orca_csv_file_knob(tmp_path):
    path = tmp_path / "orca.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["question", "answer"])
        writer.writeheader()
        writer.writerows(ORCA)
    task = make_task("orca_math", file=str(path))
    assert sum(len(task.examples(s, 1000)) for s in ("train", "dev", "test")) == 200


def test_orca_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    pq.write_table(pa.Table.from_pylist(ORCA), tmp_path / "orca.parquet")
    assert make_task("orca_math", file=str(tmp_path / "orca.parquet")).report().total == 201


def test_orca_csv_malformed_row_names_line(tmp_path):
    path = tmp_path / "orca.csv"
    path.write_text('question,answer\n"Q1?","It is 3."\n"Q2?","It is 4.",extra\n')
    with pytest.raises(DataFormatError, match=r"orca\.csv, line 3"):
        make_task("orca_math", file=str(path)).examples("train", 5)


# ----------------------------------------------------------------- MAWPS

MAWPS_FIELDS = ["Question", "Numbers", "Equation", "Answer", "group_nums", "Body", "Ques_Statement"]


def mawps_row(i: int) -> dict:
    if i % 10 == 0:  # a decimal answer
        return {"Question": f"A rope of number0 m is cut in number1 parts (item {i}) . How long is each ?",
                "Numbers": f"{i + 1}.0 2.0", "Equation": "/ number0 number1", "Answer": f"{(i + 1) / 2}"}
    return {"Question": f"Bryan has number0 books in each of his number1 shelves (item {i}) . How many books ?",
            "Numbers": f"{i}.0 9.0", "Equation": "* number0 number1", "Answer": f"{i * 9}.0"}


def write_folds(folder: Path, rows, n_folds=5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n_folds):
        with open(folder / f"fold{k}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=MAWPS_FIELDS, restval="")
            writer.writeheader()
            writer.writerows(rows[k::n_folds])
    return folder


def test_mawps_restores_numbers_and_normalises_answers(tmp_path):
    write_folds(tmp_path / "mawps", [mawps_row(i) for i in range(1, 301)])
    task = make_task("mawps", data_dir=str(tmp_path))
    examples = [e for s in ("train", "dev", "test") for e in task.examples(s, 1000)]
    assert len(examples) == 300
    e = next(e for e in examples if "(item 7)" in e.question)
    assert e.question == "Bryan has 7 books in each of his 9 shelves (item 7). How many books?"
    assert (e.answer, e.difficulty, e.solution) == ("63", 1, "7*9=63")
    assert next(e for e in examples if "(item 10)" in e.question).answer == "5.5"
    integers = make_task("mawps", data_dir=str(tmp_path), integer_only=True)
    assert integers.report().rejected["answer not an integer"] == 30  # (i+1)/2 for i = 10, 20, ...


def test_mawps_test_fold(tmp_path):
    rows = [mawps_row(i) for i in range(1, 301)]
    rows[3] = dict(rows[1])  # the same question in fold 3 and fold 1
    write_folds(tmp_path / "mawps", rows)
    task = make_task("mawps", folds_dir=str(tmp_path / "mawps"), test_fold=1)
    test = questions(task, "test")
    assert len(test) == 60 and not test & questions(task, "train")


def test_mawps_bad_placeholder_names_file_and_line(tmp_path):
    rows = [mawps_row(i) for i in range(1, 20)]
    rows[5]["Numbers"] = "3.0"  # the question uses number1 too
    write_folds(tmp_path / "mawps", rows, n_folds=1)
    with pytest.raises(DataFormatError, match=r"fold0\.csv, line 7: number1 is used"):
        make_task("mawps", data_dir=str(tmp_path)).examples("train", 5)


# ----------------------------------------------------------------- reasoning-gym

def fake_reasoning_gym():
    class Dataset:
        def __init__(self, seed, size, top=20):
            self.seed, self.size, self.top = seed, size, top

        def __getitem__(self, i):
            a, b = (self.seed * 7919 + i * 31) % self.top, i % 13
            return {"question": f"What is {a} + {b}? (#{i})", "answer": str(a + b),
                    "metadata": {"difficulty": 1}}

    rg = types.ModuleType("reasoning_gym")
    rg.factory = types.SimpleNamespace(DATASETS={"basic_arithmetic": None})
    rg.create_dataset = lambda name, seed, size, **config: Dataset(seed, size, **config)
    return rg


def test_gym_wraps_a_dataset_by_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", fake_reasoning_gym())
    task = make_task("gym:basic_arithmetic", ood_config={"top": 500})
    train = task.examples("train", 50)
    assert len(train) == 50 and train == task.examples("train", 50)
    assert train[0].family == "gym:basic_arithmetic" and train[0].difficulty == 1
    assert not questions(task, "test", 20) & {normalize_question(e.question) for e in train}
    assert make_task("gym", dataset="basic_arithmetic").examples("dev", 5)
    with pytest.raises(ValueError, match="no dataset 'nope'.*basic_arithmetic"):
        make_task("gym:nope").examples("train", 5)


def test_gym_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)
    with pytest.raises(ImportError, match=r"pip install 'trmlab\[gym\]'"):
        make_task("gym:basic_arithmetic").examples("train", 5)
    with pytest.raises(ValueError, match="takes no ':' argument"):
        make_task("arithmetic:x")


def test_real_gym_when_installed():
    pytest.importorskip("reasoning_gym")
    examples = make_task("gym:basic_arithmetic").examples("train", 5)
    assert len(examples) == 5


# ----------------------------------------------------------------- the shared data, when present

needs_shared = pytest.mark.skipif(not (SHARED / "gsm8k" / "train.jsonl").is_file(),
                                  reason="shared data not present")


@needs_shared
def test_shared_gsm8k_filter_and_disjoint_splits():
    task = make_task("gsm8k", data_dir=str(SHARED), max_steps=3, max_chars=200)
    report = task.report()
    assert report.total == 7473 and 0 < report.passed < 7473
    assert report.passed + sum(report.rejected.values()) == report.total
    train = questions(task, "train")
    assert not train & questions(task, "dev") and not train & questions(task, "test")


@needs_shared
def test_shared_mawps_loads_every_fold():
    task = make_task("mawps", data_dir=str(SHARED))
    assert task.report().total == 1920
    assert all(e.answer for e in task.examples("train", 100))
