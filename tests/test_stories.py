"""The word-problem stories (issue 33): each story re-read by an independent interpreter (regular
expressions over the English, never the generator) gives the answer at the question mark and, with
trace supervision, the state at every mention; numbers stay in range at every length; difficulty
counts the events; splits are disjoint; the word tokenizer encodes them in place, and the LM's
answer is the in-place one with its fillers dropped."""
import re

import pytest

from trmlab.config import DataConfig
from trmlab.data import load_splits, written_after
from trmlab.tasks import make_task
from trmlab.tokenizer import WordTokenizer, tokenizer_from_dict

N = r"(\d+)"
W = r"(\w+)"
# How each math sentence changes the counts: (pattern, effect on the named people by the amount).
MATH = [
    (rf"{W} (?:has|starts with) {N} \w+", lambda c, a, n: {a: n}),
    (rf"{W} (?:loses|drops|gives away) {N} \w+", lambda c, a, k: {a: c[a] - k}),
    (rf"{W} gives {W} {N} \w+", lambda c, a, b, k: {a: c[a] - k, b: c[b] + k}),
    (rf"{W} gives {N} \w+ to {W}", lambda c, a, k, b: {a: c[a] - k, b: c[b] + k}),
    (rf"{W} gets {N} \w+ from {W}", lambda c, b, k, a: {a: c[a] - k, b: c[b] + k}),
    (rf"{W} (?:buys|wins|finds) {N}(?: more)? \w+", lambda c, a, k: {a: c[a] + k}),
    (rf"{W} doubles the \w+", lambda c, a: {a: 2 * c[a]}),
    (rf"the \w+ of {W} double", lambda c, a: {a: 2 * c[a]}),
    (rf"{W} and {W} (?:each get|both find) {N} \w+", lambda c, a, b, k: {a: c[a] + k, b: c[b] + k}),
    (rf"{W} (?:smiles|counts the \w+|goes to the park)", lambda c, a: {a: c[a]}),
    (r"it is a sunny day", lambda c: {}),
]
LOGIC = [
    (rf"the {W} is in the {W}", lambda w, x, p: {x: p}),
    (rf"\w+ (?:moves|puts) the {W} (?:to|in) the {W}", lambda w, x, p: {x: p}),
    (rf"the {W} is moved to the {W}", lambda w, x, p: {x: p}),
    (rf"\w+ takes the {W} from the {W} to the {W}", lambda w, x, q, p: {x: p} if w[x] == q else None),
    (rf"(?:\w+ swaps the {W} and the {W}|the {W} and the {W} swap places)",
     lambda w, *xy: (lambda x, y: {x: w[y], y: w[x]})(*[v for v in xy if v])),
    (r"\w+ (?:smiles|looks in the \w+|walks to the \w+)", lambda w: {}),
]
QUESTION = {"math_story": rf"how many \w+ does {W} have(?: now)?", "logic_story": rf"where is the {W}(?: now)?"}


def interpret(task: str, question: str):
    """(the answer, [(mentioned word, its state after its sentence)] in story order, the final state)."""
    rules = MATH if task == "math_story" else LOGIC
    *sentences, asked = re.split(r"(?<=[.])\s+", question.lower())
    state, mentions = {}, []
    for sentence in sentences:
        text = sentence.rstrip(".")
        for pattern, effect in rules:
            m = re.fullmatch(pattern, text)
            if m:
                args = [int(g) if g and g.isdigit() else g for g in m.groups()]
                change = effect(state, *args)
                assert change is not None, f"an inconsistent sentence: {sentence!r}"
                break
        else:
            raise AssertionError(f"no reading of {sentence!r}")
        state.update(change)
        named = [w for w in re.findall(r"\w+", text) if w in change]
        mentions += [(w, str(state[w])) for w in named]
    m = re.fullmatch(QUESTION[task], asked.rstrip("?").strip())
    assert m, asked
    return str(state[m.group(1)]), mentions, state


@pytest.mark.parametrize("task", ["math_story", "logic_story"])
@pytest.mark.parametrize("events", [1, 8, 32])
def test_an_independent_reading_gives_every_answer(task, events):
    for supervision in ("final", "trace"):
        made = make_task(task, supervision=supervision, train_difficulty=(events, events))
        tok = WordTokenizer(made.vocabulary)
        for ex in made.examples("train", 60, seed=3):
            answer, mentions, _ = interpret(task, ex.question)
            pieces, written = tok.pieces(ex.question), ex.answer.split()
            assert len(pieces) == len(written) and not tok.unknown(ex.question)
            assert pieces[-1] == "?" and written[-1] == answer == ex.solution
            shown = [(w, s) for w, s in zip(pieces, written[:-1]) if s != "_"]
            assert shown == (mentions if supervision == "trace" else [])


def test_math_counts_stay_in_range_at_every_length():
    for events in (1, 16, 64):
        for ex in make_task("math_story", train_difficulty=(events, events)).examples("train", 40, seed=1):
            _, _, state = interpret("math_story", ex.question)
            told = [int(n) for n in re.findall(r"\d+", ex.question)]
            assert all(0 <= n <= 20 for n in told) and all(0 <= n <= 20 for n in state.values())
            assert 0 <= int(ex.answer.split()[-1]) <= 20


@pytest.mark.parametrize("task", ["math_story", "logic_story"])
def test_difficulty_is_the_number_of_events(task):
    made = make_task(task, train_difficulty=(1, 12), distractors=0.5)
    idle = r"(smiles|counts the|goes to the park|sunny day|looks in the|walks to the)"
    for ex in made.examples("train", 100, seed=2):
        sentences = re.split(r"(?<=[.])\s+", ex.question)[:-1]
        opening = 3  # three people or three things by default
        told = [s for s in sentences[opening:] if not re.search(idle, s)]
        assert len(told) == ex.difficulty
        assert all(not re.search(idle, s) for s in sentences[:opening])


@pytest.mark.parametrize("task", ["math_story", "logic_story"])
def test_splits_are_disjoint_and_ood_stories_are_longer(task):
    tok, splits = load_splits(DataConfig(task=task, tokenizer="word", answer_len=0, n_train=300, n_dev=30,
                                         n_test=30, n_ood=30, max_question_len=512))
    questions = {name: {ex.question.lower() for ex in s.examples} for name, s in splits.items()}
    for a in ("train", "dev", "test"):
        for b in ("train", "dev", "test", "ood"):
            assert a == b or not questions[a] & questions[b]
    assert {ex.difficulty for ex in splits["ood"].examples} == {16}
    assert max(ex.difficulty for ex in splits["train"].examples) <= 8
    for split in splits.values():  # in place: one answer token per question token
        assert split.answer.shape == split.question.shape
        for row, ex in enumerate(split.examples):
            n = int(split.question_len[row])
            assert tok.decode(split.answer[row, :n].tolist()) == ex.answer
            assert tok.decode(split.question[row, :n].tolist()) == " ".join(tok.pieces(ex.question))
    assert isinstance(tokenizer_from_dict(tok.to_dict()), WordTokenizer)
    assert tokenizer_from_dict(tok.to_dict()).alphabet == tok.alphabet


@pytest.mark.parametrize("supervision", ["final", "trace"])
def test_the_lm_writes_the_in_place_answer_without_fillers(supervision):
    cfg = DataConfig(task="math_story", tokenizer="word", answer_len=40, n_train=0, n_dev=0, n_test=20, n_ood=0,
                     max_question_len=512, knobs={"supervision": supervision})
    tok, splits = load_splits(cfg)
    for ex in splits["test"].examples:
        answer, mentions, _ = interpret("math_story", ex.question)
        expected = [s for _, s in mentions] + [answer] if supervision == "trace" else [answer]
        assert ex.answer == " ".join(expected)
    assert splits["test"].exact


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="data.tokenizer=word"):
        load_splits(DataConfig(task="logic_story", answer_len=0, n_train=5, n_dev=0, n_test=0, n_ood=0))
    with pytest.raises(ValueError, match="has none"):
        load_splits(DataConfig(task="prefix_parity", tokenizer="word", answer_len=0, n_train=5))
    with pytest.raises(ValueError, match="supervision='steps'"):
        make_task("math_story", supervision="steps")
    with pytest.raises(ValueError, match="people=1"):
        make_task("math_story", people=1)
    with pytest.raises(ValueError, match="places=2"):
        make_task("logic_story", places=2)
    with pytest.raises(ValueError, match="distractors"):
        make_task("logic_story", distractors=1.0)


def test_a_study_trains_the_loop_and_the_lm_on_a_story_and_solve_reads_a_longer_one(tmp_path, capsys):
    """The looped model in place and the LM writing the trace after the story, through a study cell
    (costed), then solve and eval --file on a story longer than any trained."""
    import json

    from trmlab.cli import main
    from trmlab.config import RunConfig, TrainConfig
    from trmlab.study import ModelSpec, StudyConfig, TaskSpec
    from trmlab.study.run import run_study
    from .conftest import tiny_reasoner_config
    knobs = {"supervision": "trace", "train_difficulty": [1, 3], "ood_difficulty": [6, 6]}
    base = RunConfig(name="story", model=tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1, window=2,
                                                              loops_per_token=0.1),
                     data=DataConfig(task="math_story", tokenizer="word", answer_len=0, n_train=64, n_dev=16,
                                     n_test=16, n_ood=16, max_question_len=256, knobs=knobs),
                     train=TrainConfig(steps=2, batch_size=8, warmup=1, eval_every=2, checkpoint_every=2,
                                       precision="fp32", threads=1))
    lm = ModelSpec("lm", kind="transformer", data={"answer_len": 24})
    study = StudyConfig("story", base, [TaskSpec("math_story")], [ModelSpec("looped"), lm], seeds=[0], eval_steps=4)
    results = run_study(study, tmp_path, progress=False)
    cells = {c["model"]: c for c in results["cells"]}
    assert cells["looped"]["eval"]["ood"]["cost"]["steps_per_question"] > 1
    assert cells["lm"]["eval"]["ood"]["cost"]["steps_per_question"] > 1  # the tokens it wrote
    story = make_task("math_story", supervision="trace", train_difficulty=(12, 12)).examples("test", 1)[0]
    run = tmp_path / "story" / "math_story" / "looped" / "seed0"
    assert main(["solve", str(run), story.question]) == 0
    last = capsys.readouterr().out.splitlines()[-1]  # `step  k: 7   (also written: 3 0 ...)`
    assert re.fullmatch(r"step +\d+: \S+( +\(also written: .+\))?( +halt probability .*)?( +residual .*)?", last), last
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": story.question, "answer": story.answer}) + "\n")
    assert main(["eval", str(run), "--file", str(tmp_path / "q.jsonl")]) == 0
    assert "1 examples" in capsys.readouterr().out


def test_the_final_answer_is_scored_apart_from_the_trace():
    task = make_task("logic_story", supervision="trace")
    examples = task.examples("test", 4, seed=0)
    right = [ex.answer for ex in examples]
    wrong_trace = [" ".join(["box"] + ex.answer.split()[1:]) for ex in examples]  # the first state wrong
    wrong_answer = [" ".join(ex.answer.split()[:-1] + ["_"]) for ex in examples]
    assert task.score_predictions(examples, right) == {"final_accuracy": 1.0}
    assert task.score_predictions(examples, wrong_trace) == {"final_accuracy": 1.0}
    assert task.score_predictions(examples, wrong_answer) == {"final_accuracy": 0.0}
    assert task.score_predictions(examples[:1], [""]) == {"final_accuracy": 0.0}


def test_the_story_presets_fit_their_longest_stories_and_traces():
    """stories-cpu: every task at both supervisions, eval sets at 4x and 8x, and its word budget holds
    the longest story drawn at 64 events; the LM's answer field holds the longest trace."""
    from trmlab.study import load_study
    from trmlab.study.stories import story_words
    study = load_study("stories-cpu")
    assert [t.id for t in study.tasks] == ["math-trace", "math-final", "logic-trace", "logic-final"]
    lm = next(m for m in study.models if m.name == "transformer")
    for spec in study.tasks:
        assert spec.data["tokenizer"] == "word" and set(spec.eval_sets) == {"4x", "8x"}
        task = make_task(spec.data["task"], supervision="trace", train_difficulty=(64, 64), distractors=0.9)
        tok = WordTokenizer(task.vocabulary)
        stories = task.examples("test", 30, seed=0)
        assert max(len(tok.pieces(ex.question)) for ex in stories) <= spec.data["max_question_len"]
        assert spec.data["max_question_len"] == story_words(spec.data["task"], 64)
        model = study.task_base(spec).model  # the loop's positions hold the longest story and its registers
        assert model.max_positions >= spec.data["max_question_len"] + model.n_registers
        assert max(len(written_after(task, ex.answer, tok).split()) for ex in stories) + 1 <= lm.data["answer_len"]
    assert next(m for m in study.models if m.name == "looped").seeds == [0, 1, 2, 3, 4]
    assert next(m for m in study.models if m.name == "lstm").overrides["delay"] == 6  # a take tells the place 6 words on
