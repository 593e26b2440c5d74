"""Any reasoning-gym dataset as a task (optional: pip install 'trmlab[gym]').

    make_task("gym:basic_arithmetic")   or   make_task("gym", dataset="basic_arithmetic")

reasoning-gym generators are deterministic from a seed and work offline. Items are
drawn in order from a generator seeded with the run's seed and assigned to splits
by question hash like every other task; `config` is passed to the dataset's config
class, and `ood_config` overrides it for the ood split (e.g. larger sizes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..base import SPLITS, Example, Task, in_split, normalize_answer, normalize_question, register


def import_reasoning_gym():
    try:
        import reasoning_gym
    except ImportError:
        raise ImportError("the gym tasks need reasoning-gym: pip install 'trmlab[gym]'") from None
    return reasoning_gym


@register("gym")
@dataclass
class ReasoningGym(Task):
    """A reasoning-gym dataset by name. Knobs: dataset, config, ood_config."""

    dataset: str = ""
    config: dict = field(default_factory=dict)
    ood_config: dict = field(default_factory=dict)

    argument_knob = "dataset"  # make_task("gym:NAME") sets it

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        budget = 200 * n + 1000
        data = self._dataset(seed, budget, {**self.config, **(self.ood_config if split == "ood" else {})})
        seen: set[str] = set()
        out: list[Example] = []
        for i in range(budget):
            if len(out) == n:
                break
            item = data[i]
            question, key = item["question"], normalize_question(item["question"])
            if key in seen or not in_split(question, split):
                continue
            seen.add(key)
            difficulty = item.get("metadata", {}).get("difficulty")
            out.append(Example(question, normalize_answer(item["answer"]),
                               difficulty if isinstance(difficulty, int) else 0, f"gym:{self.dataset}"))
        return out

    def _dataset(self, seed: int, size: int, config: dict):
        rg = import_reasoning_gym()
        known = sorted(rg.factory.DATASETS)
        if self.dataset not in known:
            raise ValueError(f"reasoning-gym has no dataset {self.dataset!r}; use gym:NAME with one of: "
                             f"{', '.join(known)}")
        return rg.create_dataset(self.dataset, seed=seed, size=size, **config)
