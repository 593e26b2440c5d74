"""Beyond finite state (`beyond-cpu`; issue 35): problems whose state grows with the input, where
a left-to-right scanner with a fixed state cannot follow at any length and a fixed-depth network
only as far as its depth reaches.

- `in_place_sort` (4-16 digits -> 32, 64, 128): odd-even transposition sort is n rounds of one
  local compare-and-swap, so the loop gets T(n) = n iterations of a window-1 network (4 positions
  of reach an iteration: room for two rounds each).
- `maze` (9x9 -> 18x18, 36x36), read in 2-D (`model.grid_2d`: a 3x3 window, each cell's position
  its (row, column), so one model reads every side): the shortest path spreads from S and G one
  cell a layer, at most side^2 / 2 cells long, so T(n) = cells / 8 iterations (4 cells of reach each).

The looped recipe (extrap-cpu's: the size rule, incremental loss, recall, the oracle-free stop) at
five seeds against the LSTM and GRU (width matched; they read the whole question, then write each
answer, as Delétang et al.'s do: every answer here may depend on the last token), the LM with RoPE and
with randomised positions (sorting only: on a board the LM would write side^2 tokens) and the
untied stack at the trained depth, three seeds each, every lr tuned on seed 100. No chain-of-thought
LM: the sort has no trace format yet. Not yet run.
"""
from __future__ import annotations

import math

from .config import ModelSpec, StudyConfig, TaskSpec
from .extrapolation import (EXTRAP_TASKS, _extrap_study, _rival_task, lm_arms, looped_spec, recurrent_rivals,
                            untied_spec)

MAZE_SIDES = (9, 18, 36)  # trained, the OOD split (2x), an eval set (4x)
MAZE_LOOPS_PER_CELL = 1 / 8


def _sort_task() -> TaskSpec:
    """Sorting at 2x (the OOD split), 4x and 8x: rivals-cpu's task spec without its 16x set."""
    spec = _rival_task("in_place_sort")
    del spec.eval_sets["16x"]
    spec.data["max_question_len"] = EXTRAP_TASKS["in_place_sort"].trained[1] * 8
    return spec


def _maze_task() -> TaskSpec:
    trained, twice, four = MAZE_SIDES
    cells = four * four
    return TaskSpec("maze", data={"task": "maze", "knobs": {"size": trained, "ood_size": twice},
                                  "n_test": 1000, "n_ood": 1000, "max_question_len": cells},
                    model={"grid_2d": True, "window": 1, "loops_per_token": MAZE_LOOPS_PER_CELL,
                           "n_sup": math.ceil(MAZE_LOOPS_PER_CELL * trained * trained), "max_positions": 2 * cells},
                    train={"steps": 2000, "eval_every": 500, "checkpoint_every": 500, "dev_ties": "later"},
                    eval_sets={"4x": {"knobs": {"ood_size": four}, "split": "ood", "n": 200,
                                      "steps": 2 * math.ceil(MAZE_LOOPS_PER_CELL * cells)}},
                    models=["looped", "lstm", "gru", "untied"])


def _beyond_models(fir: int) -> list[ModelSpec]:
    return [looped_spec(), *recurrent_rivals({"read_first": True}), *lm_arms(["transformer", "lm-random"]),
            untied_spec(fir)]


def study_beyond_cpu() -> StudyConfig:
    """In-place sorting and mazes bigger than trained (runnable in parts: `--tasks in_place_sort`)."""
    study = _extrap_study("beyond-cpu", ["in_place_sort"], seeds=[0, 1, 2],
                          tune={"lr": [1e-3, 3e-3], "seed": 100, "steps": 1000}, ablations=False)
    study.tasks = [_sort_task(), _maze_task()]
    study.models = _beyond_models(2 * max(t.model["n_sup"] for t in study.tasks))
    study.models[0].seeds = [0, 1, 2, 3, 4]
    study.eval_steps = 64
    return study
