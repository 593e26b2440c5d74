"""Studies: grids of tasks × models × seeds, resumable, with a statistical report."""
from .config import GROUPS, MODEL_KINDS, ModelSpec, StudyConfig, TaskSpec
from .presets import STUDY_PRESETS, load_study
from .run import run_study

__all__ = ["GROUPS", "MODEL_KINDS", "ModelSpec", "StudyConfig", "TaskSpec", "STUDY_PRESETS", "load_study",
           "run_study"]
