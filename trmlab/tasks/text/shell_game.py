"""The shell game: a ball under one of three cups (A, B, C), moves that swap two cups, and in
place at every move, the cup that holds the ball after it. State tracking, as in Merrill et al.
(2024, "The Illusion of State"): the ball starts under A, a move written `XY` swaps cups X and Y,
moves are separated by commas, and the answer is written at each move's first letter.

    question  AB,CA,BC,AC
    answer    B__B__C__A_

Positions that hold no answer take the filler `_`, so every position has a target. The ball's
cup after a move can depend on every move before it (the swaps are transpositions of S3, which
do not commute): no fixed window of recent moves decides it, and no local pattern gives it away,
as a run of 9-columns gives away the carry in a fully chained sum. Each answer is a local rule of
the answer one move back and the move itself, the same at every length. Difficulty = the number of moves; the OOD split asks for more moves than any trained on.

Pilots (data seed 0, 200 questions per size, lr 1e-3, trained on 1-8 moves; not a study:
results/extrap-cpu/shell-pilot/). `extrap-cpu`'s looped recipe (window 2, T(n) = n iterations,
incremental loss, recall): after 1,000 steps dev was 1.000 but 16 moves scored 0.550 at the settle
stop and 32 moves 0.025; after 3,000 steps 1.000 at 16 and at 32 moves, at T(n) and at the stop.
At 3,000 steps too, the same network once (full attention) 0.885 on the trained sizes, the
iso-parameter LM 1.000 there, the 18-network untied stack 0.760: all three 0.000 at 16 and 32.

With the knob `trace=True` the task is not answered in place: the LM writes a trace after the
question, each move copied then the cup holding the ball after it, `XY>C`, items separated by
commas (question AB,CA,BC, answer `AB>B,CA>B,BC>C`). The trace is a scratchpad that makes every
step local (Anil et al. 2022; Zhou et al. 2023, RASP-L): each cup is a function of the cup one
item back and the move just copied. Its cups ARE the in-place answer (filler removed), so the LM
gets the same supervision as the in-place loop. Questions, their split and difficulty are the
same with and without the trace (the same draws); `score_predictions` reads a predicted trace
back: all cups right, the last one right, the moves copied right.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register
from .trace import TRACE_ARROW, score_traces, write_trace

CUPS = "ABC"
FILLER = "_"
SEPARATOR = ","


def track_ball(question: str) -> str:
    """The in-place answer: after each move, the cup holding the ball (it starts under A)."""
    ball, out = CUPS[0], []
    for move in question.split(SEPARATOR):
        x, y = move
        ball = y if ball == x else x if ball == y else ball
        out.append(ball + FILLER)
    return FILLER.join(out)


def ball_trace(question: str) -> str:
    """The trace answer: each move, then the cup holding the ball after it."""
    cups = track_ball(question)[0::3]
    return write_trace(question.split(SEPARATOR), cups, SEPARATOR)


@register("shell_game")
@dataclass
class ShellGame(ProceduralTask):
    """Track a ball under three cups through swaps. Knobs: move-count ranges (difficulty = moves);
    `trace`: answer with the trace, written after the question, instead of in place."""

    train_difficulty: tuple[int, int] = (1, 8)
    ood_difficulty: tuple[int, int] = (16, 16)
    trace: bool = False

    filler = FILLER

    @property
    def in_place(self) -> bool:
        return not self.trace

    @property
    def alphabet(self) -> str:  # the arrow last: a question's ids are the same either way
        return CUPS + FILLER + SEPARATOR + (TRACE_ARROW if self.trace else "")

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        moves = ["".join(rng.sample(CUPS, 2)) for _ in range(difficulty)]
        question = SEPARATOR.join(moves)
        answer = track_ball(question)
        return Example(question, ball_trace(question) if self.trace else answer, difficulty, self.name,
                       " ".join(answer[0::3]))

    def score_predictions(self, examples: list[Example], predictions: list[str]) -> dict:
        if not self.trace:
            return {}
        return score_traces(examples, predictions, SEPARATOR,
                            lambda q: (q.split(SEPARATOR), list(track_ball(q)[0::3])))
