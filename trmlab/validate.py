"""Checks for configuration fields: every field's type (from its annotation) and its
allowed values, so a bad setting is one line naming the field and what it may be,
raised where the config is built (`__post_init__`), before any work starts."""
from __future__ import annotations

import math
from dataclasses import fields

_TYPES = {"int": (int, "an integer"), "float": ((int, float), "a number"), "str": (str, "a string"),
          "bool": (bool, "True or False"), "dict": (dict, "a mapping, e.g. {\"name\": 1}")}


class Rule:
    """An allowed set of values: `ok(value)` and how to say it ("an integer >= 1")."""

    def __init__(self, ok, says: str):
        self.ok, self.says = ok, says


def at_least(low, kind="an integer") -> Rule:
    return Rule(lambda v: v >= low, f"{kind} >= {low}")


def above(low) -> Rule:
    return Rule(lambda v: math.isfinite(v) and v > low, f"a finite number > {low}")


def within(low, high, high_open=False) -> Rule:
    bracket = ")" if high_open else "]"
    return Rule(lambda v: low <= v < high if high_open else low <= v <= high,
                f"a number in [{low}, {high}{bracket}")


def one_of(*choices) -> Rule:
    return Rule(lambda v: v in choices, "one of " + ", ".join(map(str, choices)))


def check_fields(section: str, cfg, rules: dict) -> None:
    """Check every dataclass field of `cfg` (integers in float fields become floats).
    Raises ValueError on the first bad field: `section.field=value: must be ...`."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        types, says = _TYPES[f.type if isinstance(f.type, str) else f.type.__name__]
        rule = rules.get(f.name)
        # bool is an int in Python: refuse it where a number is meant, and vice versa.
        if not isinstance(value, types) or (isinstance(value, bool) and f.type != "bool"):
            raise ValueError(f"{section}.{f.name}={value!r}: must be {rule.says if rule else says}")
        if f.type == "float" and not isinstance(value, float):
            setattr(cfg, f.name, value := float(value))
        if rule is not None and not rule.ok(value):
            raise ValueError(f"{section}.{f.name}={value!r}: must be {rule.says}")


def require(ok: bool, message: str) -> None:
    """A combination of fields that cannot work."""
    if not ok:
        raise ValueError(message)
