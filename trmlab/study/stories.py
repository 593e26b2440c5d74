"""Word problems that grow (`stories-quick`, `stories-cpu`; issue 33): math and logic stories in
English, read a word per token, trained on 1-8 events and tested on 16, 32 and 64.

Each story task runs twice, one TaskSpec per supervision: `-trace` (the state at every mention,
the story's own chain of thought, in place; the LM writes the same words after the question) and
`-final` (the answer alone, as in every word-problem data set). The looped recipe is
extrap-cpu's (T(n) from the length, incremental loss, recall, a local window, the oracle-free
stop) with a window of 8 words: 2 calls of 2 layers reach 32 words an iteration, and T(n) = n/16
gives an event (about 7 words) about half an iteration, with twice that reach to spare. A pilot
found window 4 with T(n) = n/8 no better (0.153 of whole logic traces on dev after 250 steps, against
0.147) at twice the cost.

Not yet run. Pilots (one seed, beside another study; docs/cli.md) put the loop's training example on
the logic story at 1.2 GFLOPs, 7x parity's: as written, `stories-cpu` will not fit 150 minutes on 2
cores, and its steps are to be set from a learning curve before it runs.
"""
from __future__ import annotations

import math

from .config import ModelSpec, StudyConfig, TaskSpec
from .extrapolation import _extrap_study, lm_arms, looped_spec, recurrent_rivals, single_pass_spec, untied_spec

STORIES = ("math_story", "logic_story")
SUPERVISIONS = ("trace", "final")
TRAINED = (1, 8)  # events
MULTIPLES = (2, 4, 8)  # 16, 32 and 64 events: the OOD split, then eval sets
WINDOW = 8
LOOPS_PER_TOKEN = 1 / 16
MOST_WORDS = {"math_story": 8 + 6, "logic_story": 11 + 6}  # an event's longest sentence + an idle one
OPENING = 3 * 7 + 8  # three opening sentences and the question
# Words the recurrent rival reads past a mention before writing its state there: "takes the pen
# from the box to the jar" tells the pen's place 6 words on.
LOOKAHEAD = 6


def story_words(task: str, events: int) -> int:
    """The most words a story of `events` events can have."""
    return OPENING + events * MOST_WORDS[task]


def loops(task: str, events: int) -> int:
    """T(n) at the longest story of that many events."""
    return math.ceil(LOOPS_PER_TOKEN * story_words(task, events))


def _story_task(task: str, supervision: str, n_eval: int, multiples=MULTIPLES, n_largest: int = 200) -> TaskSpec:
    """One story task at one supervision: trained on TRAINED events, the OOD split at 2x, eval sets
    beyond (the largest with `n_largest` questions), each evaluated to twice T(n) there."""
    largest = TRAINED[1]
    knobs = {"supervision": supervision, "train_difficulty": list(TRAINED),
             "ood_difficulty": [largest * multiples[0]] * 2}
    spec = TaskSpec(f"{task.split('_')[0]}-{supervision}",
                    data={"task": task, "tokenizer": "word", "knobs": knobs, "n_test": n_eval, "n_ood": n_eval,
                          "max_question_len": story_words(task, largest * multiples[-1])},
                    model={"window": WINDOW, "loops_per_token": LOOPS_PER_TOKEN, "n_sup": loops(task, largest),
                           "max_positions": 2 * story_words(task, largest * multiples[-1])},
                    train={"steps": 2000, "eval_every": 500, "checkpoint_every": 500, "dev_ties": "later"})
    for k in multiples[1:]:
        size = largest * k
        spec.eval_sets[f"{k}x"] = {"knobs": {"ood_difficulty": [size, size]}, "split": "ood",
                                   "n": n_largest if k == multiples[-1] else n_eval, "steps": 2 * loops(task, size)}
    return spec


def _story_models(fir: int, supervision_answer: int) -> list[ModelSpec]:
    """The looped recipe against the LSTM (reading LOOKAHEAD words ahead), the iso-parameter LM
    (RoPE; randomised positions; writing the trace after the question on -trace tasks), the single
    pass and the untied stack at the trained depth."""
    return [looped_spec(), *recurrent_rivals({"delay": LOOKAHEAD}, cells=["lstm"]),
            *lm_arms(["transformer", "lm-random"], data={"answer_len": supervision_answer}),
            single_pass_spec(), untied_spec(fir)]


def _stories_study(name: str, tasks: list[TaskSpec], seeds: list[int], tune: dict, most_events: int) -> StudyConfig:
    """extrap-cpu's base (2 layers, d = 64, data seed 1) on story tasks; the LM's answer field holds
    a trace of `most_events` events (at most 3 mentions an event, a give then an idle sentence, and 3
    in the opening), the answer and EOS."""
    study = _extrap_study(name, ["prefix_parity"], seeds=seeds, tune=tune, ablations=False)
    study.tasks = tasks
    study.models = _story_models(2 * max(spec.model["n_sup"] for spec in tasks), 3 * most_events + 5)
    return study


def study_stories_quick() -> StudyConfig:
    """A first look: the logic story with the trace, the loop, the LSTM and the LM, two seeds each."""
    task = _story_task("logic_story", "trace", 300, multiples=(2, 4), n_largest=200)
    study = _stories_study("stories-quick", [task], seeds=[0, 1], tune={}, most_events=4 * TRAINED[1])
    study.models = [m for m in study.models if m.name in ("looped", "lstm", "transformer")]
    return study


def study_stories_cpu() -> StudyConfig:
    """Both stories at both supervisions (runnable in parts: `--tasks math-trace`), the loop at
    five seeds and every rival at three, each model's lr tuned on seed 100 over {1e-3, 3e-3}."""
    tasks = [_story_task(t, s, 1000) for t in STORIES for s in SUPERVISIONS]
    study = _stories_study("stories-cpu", tasks, seeds=[0, 1, 2],
                           tune={"lr": [1e-3, 3e-3], "seed": 100, "steps": 1000},
                           most_events=MULTIPLES[-1] * TRAINED[1])
    study.models[0].seeds = [0, 1, 2, 3, 4]
    return study
