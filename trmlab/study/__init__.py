"""Studies: grids of tasks × models × seeds, resumable, with a statistical report.

`run_study` (study/run.py: training, evaluation, the report) is imported on first use, so that the
presets and configs (`trmlab train --preset sudoku` reads one) load without the training stack."""
from .config import GROUPS, MODEL_KINDS, ModelSpec, StudyConfig, TaskSpec
from .presets import RUN_PRESETS, STUDY_PRESETS, load_study

__all__ = ["GROUPS", "MODEL_KINDS", "ModelSpec", "StudyConfig", "TaskSpec", "RUN_PRESETS", "STUDY_PRESETS",
           "load_study", "run_study"]


def __getattr__(name):
    if name == "run_study":
        from .run import run_study
        return run_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
