"""`make_task(name, **knobs)`: a registered task by name, with its knobs checked; "a+b" mixes tasks."""
from __future__ import annotations

from .base import _REGISTRY, Task, task_names
from .mixture import make_mixture


def make_task(name: str, **knobs) -> Task:
    if "+" in name:  # "mawps+gsm8k": one task drawing from several
        return make_mixture(name, make_task, knobs)
    name, _, argument = name.partition(":")  # "gym:NAME" sets the class's `argument_knob` to NAME
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}")
    cls = _REGISTRY[name]
    if argument:
        if not getattr(cls, "argument_knob", ""):
            raise ValueError(f"task {name!r} takes no ':' argument")
        knobs = {cls.argument_knob: argument, **knobs}
    valid = {f for f in cls.__dataclass_fields__ if f != "name"}
    unknown = set(knobs) - valid
    if unknown:
        raise ValueError(f"task {name!r} has no knob {', '.join(sorted(unknown))}; "
                         f"its knobs: {', '.join(sorted(valid))}")
    return cls(name=name, **knobs)
