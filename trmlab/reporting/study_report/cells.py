"""Grouping a study's cells into models: one `Model` holds every seed of one model on one task."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..stats import describe

SPLITS = ("dev", "test", "ood")
SPLIT_NAME = {"dev": "dev (ID)", "test": "test (ID)", "ood": "OOD"}


@dataclass
class Model:
    """All seeds of one model on one task."""
    id: str
    name: str  # display name: the cell's label (made unique within the task)
    cells: list[dict] = field(default_factory=list)  # sorted by seed

    @property
    def first(self) -> dict:
        return self.cells[0]

    @property
    def groups(self) -> list[str]:
        return groups_of(self.first)

    @property
    def recursive(self) -> bool:
        return bool(self.first.get("recursive"))

    def evals(self, split: str) -> list[tuple[object, dict]]:
        """(seed, summary) of every seed that evaluated `split`."""
        return [(c["seed"], c["eval"][split]) for c in self.cells if split in c.get("eval", {})]

    def by_seed(self, split: str, key: str = "accuracy") -> dict:
        """seed -> summary[key] on `split` (seeds without it are left out)."""
        return {seed: s[key] for seed, s in self.evals(split) if s.get(key) is not None}

    def desc(self, split: str, key: str = "accuracy") -> dict:
        return describe(self.by_seed(split, key).values())

    @property
    def lr(self) -> str:
        """The learning rate its seeds trained at ("—" when the cells do not record it)."""
        lrs = {((c.get("run_config") or {}).get("train") or {}).get("lr") for c in self.cells} - {None}
        return ", ".join(f"{lr:g}" for lr in sorted(lrs)) or "—"

    def mean_of(self, key: str):
        values = [c.get(key) for c in self.cells if c.get(key) is not None]
        return sum(values) / len(values) if values else None


def groups_of(cell: dict) -> list[str]:
    """The comparisons a cell belongs to: its "groups" list, else its "group", else main."""
    return list(cell.get("groups") or [cell.get("group") or "main"])


def models_of(cells: list[dict]) -> dict[str, Model]:
    """model id -> Model, in order of first appearance; seeds sorted."""
    models: dict[str, Model] = {}
    for c in cells:
        models.setdefault(c["model"], Model(c["model"], c.get("label") or c["model"])).cells.append(c)
    names = [m.name for m in models.values()]
    for m in models.values():
        m.cells.sort(key=lambda c: (str(type(c["seed"])), c["seed"]))
        if names.count(m.name) > 1:
            m.name = f"{m.name} [{m.id}]"
    return models


def reference_model(models: dict[str, Model]) -> Model | None:
    """The recursive reasoner every other model is compared with: the model with id "reasoner",
    else the first reasoner in the main group, else the first reasoner, else the first HRM."""
    if "reasoner" in models:
        return models["reasoner"]
    for kind in ("reasoner", "hrm"):
        found = [m for m in models.values() if m.first.get("kind") == kind]
        main = [m for m in found if "main" in m.groups]
        if found:
            return (main or found)[0]
    return None


def in_group(models: dict[str, Model], group: str) -> dict[str, Model]:
    return {k: m for k, m in models.items() if group in m.groups}


def int_keys(d: dict) -> dict[int, float]:
    """JSON turns int keys into str; undo it."""
    return {int(k): v for k, v in (d or {}).items()}


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def split_name(split: str) -> str:
    """Display name of a split; an extra evaluation set goes by its own name."""
    return SPLIT_NAME.get(split, split)


TRAIN = "train"  # the training examples scored like a test set (the generalisation gap): not a held-out set


def eval_splits(cells: list[dict]) -> list[str]:
    """dev, test, ood (those present), then the extra evaluation sets in order of appearance;
    never the training examples' scores (`TRAIN`), which hold nothing out."""
    names = list(dict.fromkeys(s for c in cells for s in c.get("eval", {}) if s != TRAIN))
    return [s for s in SPLITS if s in names] + [s for s in names if s not in SPLITS]


def is_grid(cells: list[dict]) -> bool:
    """Grid puzzles: the answer is read in place (no answer slots) at the cells of a board (a cell's
    "grid"; older cells, without it, by their answer field alone)."""
    return bool(cells) and all(c.get("grid", (c.get("config") or {}).get("answer_len") == 0) for c in cells)


