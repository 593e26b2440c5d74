"""What every section of a task's report reads: the task's models, splits, chance levels and colours."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..report import model_colors
from .cells import SPLITS, Model, eval_splits, in_group, is_grid, models_of, reference_model, slug


@dataclass
class TaskView:
    """One task of a study, as the report's sections see it (built by `TaskView.of`)."""
    task: str
    cells: list[dict]
    info: dict  # results["tasks"][task]: difficulties, majority baseline, knobs
    eval_steps: int
    out: Path
    tuning: list[dict] = field(default_factory=list)
    study_cells: list[dict] = field(default_factory=list)  # every task's cells (sections spanning tasks)

    def __post_init__(self):
        self.models: dict[str, Model] = models_of(self.cells)
        self.ms = list(self.models.values())
        self.grid = is_grid(self.cells)
        self.splits = eval_splits(self.cells)
        self.tested = [s for s in self.splits if s != "dev"]  # comparisons and ID/OOD views (and extra sets)
        self.extras = [s for s in self.tested if s not in SPLITS]
        self.hardest = hardest_set(self.ms, self.extras or [s for s in self.tested if s == "ood"]) if self.grid else None
        self.cost_splits = [s for s in self.tested if s in ("test", "ood", self.hardest)]  # at most 3 markers
        # The accuracy-vs-steps panels: test and OOD carry the whole curve (dev only picks checkpoints).
        self.id_ood = [s for s in ("test", "ood") if s in self.splits] or self.splits[:1]
        self.chance = self.info.get("majority_baseline") or {}
        self.train_d, self.ood_d = self.info.get("train_difficulty"), self.info.get("ood_difficulty")
        self.train_max = max(self.train_d) if self.train_d else None
        self.colors = model_colors([m.name for m in self.ms])
        self.recursive = [m for m in self.ms if m.recursive]
        self.main = list(in_group(self.models, "main").values()) or self.ms
        self.ref = reference_model(self.models)
        self.others = [m for m in self.ms if self.ref is not None and m is not self.ref]

    def fig(self, kind: str) -> Path:
        """Where the task's plot of this kind goes."""
        return self.out / f"{slug(self.task)}_{kind}.png"


def hardest_set(models: list[Model], names: list[str]) -> str | None:
    """The evaluation set with the lowest cell accuracy, averaged over models."""
    def level(s):
        means = [m.desc(s, "cell_accuracy")["mean"] for m in models]
        means = [x for x in means if x is not None]
        return sum(means) / len(means) if means else math.inf
    return min(names, key=level, default=None)


