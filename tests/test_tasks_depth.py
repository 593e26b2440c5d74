"""The tasks whose required depth grows with difficulty (nary_addition, phop, variable_chains,
igsm): knobs, and every answer recomputed from the question text by a small interpreter
written independently of the generator (determinism and disjoint splits: test_tasks.py, for
every text task)."""
import re
from collections import Counter

import pytest

from trmlab.tasks import make_task

DEPTH_TASKS = ["nary_addition", "phop", "variable_chains", "igsm"]


def at(name, difficulty, n=150, split="train", **knobs):
    return make_task(name, train_difficulty=(difficulty, difficulty), **knobs).examples(split, n, seed=1)


@pytest.mark.parametrize("name", DEPTH_TASKS)
def test_defaults_fit_the_char_model_and_ood_is_harder(name):
    task = make_task(name)
    train, ood = task.examples("train", 300), task.examples("ood", 300)
    assert max(e.difficulty for e in train) < min(e.difficulty for e in ood)
    for e in train + ood:
        assert e.question.isascii() and len(e.question) <= 256  # data.max_question_len
        assert 1 <= len(e.answer) <= 3 and e.solution  # fits the default answer_len of 4 with EOS
    assert sum(len(e.question) for e in train) / len(train) <= 120


# ----------------------------------------------------------------- nary_addition

@pytest.mark.parametrize("digits", [2, 3])
def test_nary_addition_sums_n_padded_operands(digits):
    for n in (2, 4, 7):
        for e in at("nary_addition", n, digits=digits):
            operands = re.fullmatch(r"(\d+(?: \+ \d+)*) =", e.question)[1].split(" + ")
            assert len(operands) == n == e.difficulty
            assert all(len(x) == digits for x in operands)
            assert int(e.answer) == sum(int(x) for x in operands)


# ----------------------------------------------------------------- phop

def follow_hops(seq: str, p: int) -> str:
    """p hops from the last token, each checked to be defined and to move left."""
    pos = len(seq) - 1
    for _ in range(p):
        prev = max(j for j in range(pos) if seq[j] == seq[pos])  # ValueError if there is none
        assert prev + 1 < pos
        pos = prev + 1
    return seq[pos]


def test_phop_answers_follow_the_hops():
    for p in (1, 3, 5):
        for e in at("phop", p):
            m = re.fullmatch(r"([a-z]+)(?:, (\d+) hops| hop (\d+))", e.question)
            seq, hops = m[1], int(m[2] or m[3])
            assert hops == p == e.difficulty and len(seq) == 16 and set(seq) <= set("abcd")
            assert follow_hops(seq, p) == e.answer


def test_phop_knobs_and_chance():
    examples = at("phop", 6, n=300, length=40, alphabet_size=6)
    assert all(len(e.question.split()[0].rstrip(",")) == 40 for e in examples)
    assert set("".join(e.question.split()[0] for e in examples)) >= set("abcdef")
    task = make_task("phop", alphabet_size=6)
    assert task.chance == pytest.approx(1 / 6)
    share = Counter(e.answer for e in examples).most_common(1)[0][1] / len(examples)
    assert share < task.chance + 0.1  # no answer is much more frequent than a guess


def test_phop_too_many_hops_is_an_error():
    with pytest.raises(ValueError, match="lengthen the sequence"):
        at("phop", 12, n=1, length=8)


# ----------------------------------------------------------------- variable_chains

WORD_RULES = [(r"(\w+) has (\d+) \w+", "const"), (r"(\w+) has (?:as many as|the same as) (\w+)", "copy"),
              (r"(\w+) has (\d+) more than (\w+)", "+"), (r"(\w+) has (\d+) (?:fewer|less) than (\w+)", "-")]
SYMBOL_RULES = [(r"(\w) = (\d+)", "const"), (r"(\w) = (\w)", "copy"),
                (r"(\w) = (\w) \+ (\d+)", "+"), (r"(\w) = (\w) - (\d+)", "-")]


def read_program(question: str):
    """({variable: (op, parent, number)}, the asked variable, statements in order)."""
    *statements, ask = re.split(r"(?<=[.?])\s+", question)
    program = {}
    for s in statements:
        for pattern, op in WORD_RULES + SYMBOL_RULES:
            if m := re.fullmatch(pattern + r"\.", s):
                groups = m.groups()
                var = groups[0]
                if op == "const":
                    program[var] = (op, None, int(groups[1]))
                elif op == "copy":
                    program[var] = (op, groups[1], 0)
                else:  # the word and symbol forms put the number and the parent in other places
                    number, parent = (groups[1], groups[2]) if groups[1].isdigit() else (groups[2], groups[1])
                    program[var] = (op, parent, int(number))
                break
        else:
            raise AssertionError(f"unread statement {s!r}")
    asked = re.fullmatch(r"What is (\w)\?|(\w) = \?|Find (\w)\.|How many \w+ (?:does|has) (\w+)(?: have)?\?", ask)
    return program, next(g for g in asked.groups() if g), statements


def run_program(program: dict) -> dict:
    """Every variable's value, evaluated eagerly (all statements, the distractors too)."""
    values = {}
    while len(values) < len(program):
        for var, (op, parent, k) in program.items():
            if var in values or (parent is not None and parent not in values):
                continue
            base = values.get(parent, 0)
            values[var] = {"const": k, "copy": base, "+": base + k, "-": base - k}[op]
    return values


def ancestors(program: dict, var: str) -> list[str]:
    """`var` and the variables it depends on, the constant last."""
    chain = [var]
    while program[chain[-1]][1] is not None:
        chain.append(program[chain[-1]][1])
    return chain


def test_variable_chains_answers_depth_and_distractors():
    forms, orders = Counter(), Counter()
    for depth in (1, 3, 6):
        for e in at("variable_chains", depth, n=100, distractors=3):
            program, asked, statements = read_program(e.question)
            values = run_program(program)
            assert str(values[asked]) == e.answer and all(0 <= v <= 9 for v in values.values())
            chain = ancestors(program, asked)
            assert len(chain) - 1 == depth == e.difficulty
            assert len(program) == len(statements) == depth + 1 + 3
            for var in set(program) - set(chain):  # a distractor's number changed: same answer
                op, parent, k = program[var]
                assert run_program({**program, var: (op, parent, k + 5)})[asked] == values[asked]
            op, _, k = program[chain[-1]]  # the chain's constant changed: another answer
            assert run_program({**program, chain[-1]: (op, None, k + 5)})[asked] != values[asked]
            forms["words" if "has" in e.question else "symbols"] += 1
            defined = [re.match(r"\w+", s)[0] for s in statements]
            in_order = all(defined.index(p) < defined.index(v) for v, (_, p, _) in program.items() if p)
            orders["ordered" if in_order else "shuffled"] += 1
    assert min(forms.values()) > 50 and min(orders.values()) > 50 and len(forms) == len(orders) == 2


def test_variable_chains_distractors_depend_on_the_chain_sometimes():
    kinds = Counter()
    for e in at("variable_chains", 3, n=100):
        program, asked, _ = read_program(e.question)
        chain = set(ancestors(program, asked))
        for var, (_, parent, _) in program.items():
            if var not in chain:
                kinds["from the chain" if parent in chain else "constant" if parent is None else "other"] += 1
    assert kinds["from the chain"] > 50 and kinds["constant"] > 20


TERSE_RULES = [(r"(\w)=(\d+)", "const"), (r"(\w)=(\w)", "copy")]


def read_terse(question: str):
    """The pointer-chasing form (`a=3 b=a b?`, copies only): ({variable: parent or value}, asked)."""
    *statements, ask = question.split(" ")
    program = {}
    for s in statements:
        var, rhs = re.fullmatch(r"(\w)=(\w)", s).groups()
        program[var] = int(rhs) if rhs.isdigit() else rhs
    return program, re.fullmatch(r"(\w)\?", ask)[1]


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_variable_chains_pointer_chasing_form(depth):
    """arithmetic=0, chains=3, terse: three copy chains of the asked depth from distinct constants;
    the answer is the asked chain's constant, and every constant is a possible answer."""
    roots = Counter()
    for e in at("variable_chains", depth, n=100, words=0.0, arithmetic=0.0, chains=3, distractors=0, terse=True):
        program, asked = read_terse(e.question)
        assert len(program) == 3 * (depth + 1) == len(e.question.split(" ")) - 1
        constants = [v for v in program.values() if isinstance(v, int)]
        assert len(constants) == len(set(constants)) == 3
        var, hops = asked, 0
        while isinstance(program[var], str):
            var, hops = program[var], hops + 1
        assert hops == depth == e.difficulty and str(program[var]) == e.answer
        roots[sorted(constants).index(program[var])] += 1
    assert min(roots.values()) > 15  # the answer is not always the smallest (or largest) constant


def test_variable_chains_default_stream_unchanged_and_bad_chains():
    """The knobs' defaults draw the same examples as before they existed (pinned by their answers)."""
    examples = make_task("variable_chains").examples("train", 30, seed=0)
    assert "".join(e.answer for e in examples) == "115145287752756730583846022146"
    with pytest.raises(ValueError, match="chains must be"):
        at("variable_chains", 1, chains=11)


# ----------------------------------------------------------------- igsm

def read_graph(question: str):
    """({quantity: its expression's parts}, the asked quantity)."""
    *statements, asked = question.split(". ")
    graph = {name: expression.rstrip(".").split(" ") for name, expression in (s.split(" := ") for s in statements)}
    return graph, asked.rstrip("?")


def evaluate(graph: dict, name: str, modulus: int) -> tuple[int, int]:
    """(value, depth) of a quantity, recursively."""
    parts = graph[name]
    if parts[0].isdigit():
        return int(parts[0]), 0
    a, da = evaluate(graph, parts[0], modulus)
    if len(parts) == 1:
        return a, da + 1
    b, db = evaluate(graph, parts[2], modulus)
    value = {"+": a + b, "-": a - b, "*": a * b}[parts[1]]
    return value % modulus, max(da, db) + 1


@pytest.mark.parametrize("modulus, n_nodes", [(7, 7), (11, 12)])
def test_igsm_answers_and_depth_recomputed(modulus, n_nodes):
    for depth in (1, 3, 6):
        for e in at("igsm", depth, n=100, modulus=modulus, n_nodes=n_nodes):
            graph, asked = read_graph(e.question)
            assert len(graph) == n_nodes
            value, d = evaluate(graph, asked, modulus)
            assert str(value) == e.answer and d == depth == e.difficulty


def test_igsm_depth_needs_enough_nodes():
    with pytest.raises(ValueError, match="n_nodes"):
        at("igsm", 7, n=1, n_nodes=7)
