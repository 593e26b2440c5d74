"""The procedural families: determinism, disjoint splits, difficulty, and answers recomputed
independently from the question text. Determinism and disjoint splits are checked for every
procedural text task registered (tasks/text/), the depth tasks and any new one included."""
import re

import pytest

from trmlab.tasks import SPLITS, make_task, normalize_answer
from trmlab.tasks.base import _REGISTRY, normalize_question

FAMILIES = ["arithmetic", "word_problems", "ordering", "comparison", "syllogisms", "story_arithmetic"]
NEW_FAMILIES = FAMILIES[:-1]
TEXT_TASKS = sorted(n for n, cls in _REGISTRY.items() if cls.__module__.startswith("trmlab.tasks.text."))


def at(name, difficulty, n=150, split="train"):
    return make_task(name, train_difficulty=(difficulty, difficulty)).examples(split, n, seed=1)


def test_every_text_task_is_checked():
    assert set(FAMILIES) < set(TEXT_TASKS) and {"phop", "igsm"} < set(TEXT_TASKS)


@pytest.mark.parametrize("name", TEXT_TASKS)
def test_same_seed_same_examples_other_seed_other_examples(name):
    task = make_task(name)
    assert task.examples("train", 40, seed=3) == task.examples("train", 40, seed=3)
    assert task.examples("train", 40, seed=3) != task.examples("train", 40, seed=4)


@pytest.mark.parametrize("name", TEXT_TASKS)
def test_no_dev_test_or_ood_question_in_train(name):
    task = make_task(name)
    train = {normalize_question(e.question) for e in task.examples("train", 600)}
    for split in ("dev", "test", "ood"):
        assert not train & {normalize_question(e.question) for e in task.examples(split, 60)}, split


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_difficulty_knob_respected_and_ood_is_harder(name):
    task = make_task(name, train_difficulty=(2, 3), ood_difficulty=(6, 8))
    train, ood = task.examples("train", 100), task.examples("ood", 100)
    assert {e.difficulty for e in train} == {2, 3}
    assert {e.difficulty for e in ood} == {6, 7, 8}
    mean = lambda xs: sum(len(e.question) for e in xs) / len(xs)  # noqa: E731
    assert mean(ood) > mean(train)


@pytest.mark.parametrize("name", NEW_FAMILIES)
@pytest.mark.parametrize("difficulty", [1, 4, 8])
def test_records_are_complete_normalised_and_short(name, difficulty):
    examples = at(name, difficulty, n=100)
    for e in examples:
        assert e.family == name and e.difficulty == difficulty and e.solution
        assert e.answer == normalize_answer(e.answer) and e.answer
        assert e.question.isascii()  # the char tokenizer reads every character
    assert max(len(e.question) for e in examples) < 300
    assert sum(len(e.question) for e in examples) / len(examples) < 230


@pytest.mark.parametrize("name", ["arithmetic", "word_problems"])
def test_solution_has_one_step_per_difficulty_level(name):
    for d in (1, 5, 8):
        assert all(len(e.solution.split("; ")) == d for e in at(name, d, n=50))


# ----------------------------------------------------------------- answers recomputed

def test_arithmetic_answers_match_python_eval():
    for d in (1, 3, 8):
        for e in at("arithmetic", d):
            expression = re.search(r"[\d(][\d+\-*/() ]*[\d)]", e.question).group()
            assert len(re.findall(r" [+\-*/] ", expression)) == d
            value = eval(expression)  # exact: every division in the tree is exact
            assert value == int(value) >= 0 and str(int(value)) == e.answer, e


def test_arithmetic_operand_knob():
    examples = make_task("arithmetic", max_operand=50, max_value=10**6).examples("train", 100)
    numbers = [int(x) for e in examples for x in re.findall(r"\d+", e.question)]
    assert max(numbers) > 9 and max(numbers) <= 50


def replay_word_problem(question: str) -> int:
    """An independent reading of a word problem, sentence by sentence."""
    holder, value = None, None
    for s in re.split(r"(?<=[.?])\s+", question):
        nums = [int(x) for x in re.findall(r"\d+", s)]
        name = s.split()[0]
        if re.match(r"\w+ (has|owns|starts with) \$?\d+( \w+)?\.$", s):
            holder, value = name, nums[0]
        elif m := re.match(r"(\w+) has \$?(\d+) (more|fewer|less) than (\w+)\.", s):
            assert m[4] == holder
            holder, value = m[1], value + nums[0] if m[3] == "more" else value - nums[0]
        elif m := re.match(r"(\w+) has (twice|three times|half|a third) as (many|much) as (\w+)\.", s):
            assert m[4] == holder
            holder = m[1]
            value = {"twice": value * 2, "three times": value * 3, "half": value / 2, "a third": value / 3}[m[2]]
        elif re.match(r"\w+ (gives away|loses) half\.", s):
            value /= 2
        elif re.match(r"\w+ (buys|gets) \d+ (packs|boxes) of \d+\.", s):
            value += nums[0] * nums[1]
        elif re.match(r"\w+ (buys \d+ \w+ at|pays) \$\d+ each", s):
            value -= nums[0] * nums[1]
        elif re.match(r"\w+ (earns|makes) \$\d+ an? \w+ for \d+", s):
            value += nums[0] * nums[1]
        elif re.match(r"\w+ (gives \$?\d+ to|loses \$?\d|sells \d)", s):
            assert name == holder
            value -= nums[0]
        elif re.match(r"\w+ gives \w+ \$?\d+\.|\w+ (finds|gets) \$?\d+", s):
            value += nums[0]
        elif "sells" in s:
            value *= nums[0]
        elif s.startswith("How"):
            assert holder in s or "dollars is that" in s or "does" in s
        else:
            raise AssertionError(f"unread sentence {s!r}")
        assert value == int(value) >= 0, s
    return int(value)


def test_word_problem_answers_replayed_from_the_text():
    for d in (1, 4, 8):
        for e in at("word_problems", d):
            assert str(replay_word_problem(e.question)) == e.answer, e


def test_word_problems_have_people_prices_and_rates():
    text = " ".join(e.question for e in make_task("word_problems").examples("train", 400))
    for phrase in ("twice as", "half as", "more than", "packs of", "$", "an hour", "gives"):
        assert phrase in text, phrase


def ordering_answer(question: str) -> str:
    more = {"taller": "shorter", "older": "younger", "faster": "slower", "heavier": "lighter"}
    sentences = re.split(r"(?<=[.?])\s+", question)
    if sentences[0].startswith("In a"):
        pos = {}
        for s in sentences:
            if m := re.match(r"In a \w+, (\w+) is (\d+)\w\w\.", s):
                pos[m[1]] = int(m[2])
            elif m := re.match(r"(\w+) is (\d+) (behind|ahead of|in front of) (\w+)\.", s):
                pos[m[1]] = pos[m[4]] + (int(m[2]) if m[3] == "behind" else -int(m[2]))
        last = re.search(r"(\w+)\?$", question)[1]
        if "What place" in question:
            return str(pos[last])
        if "behind" in sentences[-1]:
            return str(int(re.search(r"There are (\d+)", question)[1]) - pos[last])
        return str(pos[last] - 1)
    above = {}  # person -> people known to rank below
    for s in sentences[:-1]:
        a, word, b = re.match(r"(\w+) is (\w+) than (\w+)\.", s).groups()
        hi, lo = (a, b) if word in more else (b, a)
        above.setdefault(hi, set()).add(lo)
        above.setdefault(lo, set())
    def below(p):  # noqa: E306
        return set().union(*({q} | below(q) for q in above[p])) if above[p] else set()
    ranked = sorted(above, key=lambda p: -len(below(p)))
    q = sentences[-1]
    if m := re.match(r"Is (\w+) (\w+) than (\w+)\?", q):
        return "yes" if m[3] in below(m[1]) else "no"
    if m := re.match(r"Who is the (\d+)\w\w \w+\?", q):
        return ranked[int(m[1]) - 1].lower()
    word = q.split()[-1].rstrip("?")
    return (ranked[0] if word.removesuffix("est") + "er" in more or word in
            ("tallest", "oldest", "fastest", "heaviest") else ranked[-1]).lower()


def test_ordering_answers_recomputed():
    for d in (1, 4, 8):
        for e in at("ordering", d):
            assert ordering_answer(e.question) == e.answer, e


def comparison_answer(question: str) -> str:
    if m := re.match(r"(\w+) has (\d+) \w+\. (\w+) has (\d+)\. How many more does (\w+) have\?", question):
        return str(abs(int(m[2]) - int(m[4])))
    if "largest minus the smallest" in question:
        nums = [int(x) for x in re.findall(r"\d+", question)]
        return str(max(nums) - min(nums))
    if m := re.match(r"(How many (\d)s are in|Count the (\d)s in) (.*)[?.]$", question):
        target = m[2] or m[3]
        return str(m[4].split(", ").count(target))
    if m := re.match(r"The balls are (.*)\. How many are (\w+)\?", question):
        return str(m[1].split(", ").count(m[2]))
    if "Who has" in question:
        pairs = re.findall(r"(\w+) (?:has )?(\d+)", question)
        pick = max if "most" in question else min
        return pick(pairs, key=lambda p: int(p[1]))[0].lower()
    nums = [int(x) for x in re.findall(r"\d+", question)]
    return str(max(nums) if re.search("larg", question) else min(nums))


def test_comparison_answers_recomputed():
    for d in (1, 4, 8):
        for e in at("comparison", d):
            assert comparison_answer(e.question) == e.answer, e


def syllogism_answer(question: str) -> str:
    sentences = re.split(r"(?<=[.?])\s+", question)
    q = sentences[-1]
    if q.startswith("Does"):
        rules = [re.match(r"If (\w+) (\w+), (\w+) (\w+)\.", s).groups() for s in sentences if s.startswith("If")]
        holds = {(a, v) for a, v, _, _ in rules} | {(b, w) for _, _, b, w in rules}
        fact = sentences[-2]
        if m := re.match(r"(\w+) does not (\w+)\.", fact):  # modus tollens, backwards
            false = {(m[1], m[2] + "s")}
            while True:
                new = {(a, v) for a, v, b, w in rules if (b, w) in false} - false
                if not new:
                    break
                false |= new
            name, verb = re.match(r"Does (\w+) (\w+)\?", q).groups()
            assert (name, verb + "s") in false and holds
            return "no"
        true = {tuple(fact.rstrip(".").split())}
        while new := {(b, w) for a, v, b, w in rules if (a, v) in true} - true:
            true |= new
        name, verb = re.match(r"Does (\w+) (\w+)\?", q).groups()
        return "yes" if (name, verb + "s") in true else "no"
    kinds, subsets, excluded = {}, {}, set()
    for s in sentences[:-1]:
        if m := re.match(r"All (\w+) are (\w+)\.", s):
            subsets.setdefault(m[1], set()).add(m[2])
        elif m := re.match(r"No (\w+) are (\w+)\.", s):
            excluded.add((m[1], m[2]))
        elif m := re.match(r"(\w+) is an? (\w+)\.", s):
            kinds[m[1]] = m[2]

    def closure(kind):
        plural = next((p for p in set(subsets) | {a for a, _ in excluded} if p.startswith(kind)), kind)
        out, todo = {plural}, [plural]
        while todo:
            for nxt in subsets.get(todo.pop(), ()):
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return out

    if m := re.match(r"Is (\w+) an? (\w+)\?", q):
        reach = closure(kinds[m[1]])
        if any(a in reach and b.startswith(m[2]) for a, b in excluded):
            return "no"
        return "yes" if any(k.startswith(m[2]) for k in reach) else "unknown"
    target = re.match(r"Who is an? (\w+):", q)[1]
    return next(p for p, k in kinds.items() if any(x.startswith(target) for x in closure(k))).lower()


def test_syllogism_answers_recomputed():
    for d in (1, 4, 8):
        for e in at("syllogisms", d):
            assert syllogism_answer(e.question) == e.answer, e


def test_every_answer_kind_occurs():
    answers = {name: {e.answer for e in make_task(name).examples("train", 300)} for name in NEW_FAMILIES}
    assert {"yes", "no"} <= answers["syllogisms"] and any(a.isalpha() and a not in ("yes", "no")
                                                           for a in answers["syllogisms"])
    assert {"yes", "no"} <= answers["ordering"] and any(a.isdigit() for a in answers["ordering"])
    assert any(a.isalpha() for a in answers["comparison"]) and any(a.isdigit() for a in answers["comparison"])


def test_unknown_split_and_knob_are_errors():
    with pytest.raises(ValueError, match="choose from"):
        make_task("arithmetic").examples("validation", 3)
    with pytest.raises(ValueError, match="its knobs: .*max_operand"):
        make_task("arithmetic", max_number=3)
    assert set(SPLITS) == {"train", "dev", "test", "ood"}
