"""Small-sample statistics over seeds: mean ± sd, a 95% t-interval, paired differences.

A study cell is trained with a handful of seeds (3 on the CPU presets), so intervals use
Student's t, not the normal 1.96: with 3 seeds the 95% half-width is 4.30 · sd / √3.
Everything here is plain Python; values are floats in [0, 1] but nothing depends on that.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30. Hard-coded because scipy is
# not a dependency; the values are the standard table's (e.g. scipy.stats.t.ppf(0.975, df)).
# Above 30 degrees of freedom we use the normal 1.96, at most 4% narrower than t (df 31..120);
# a study never has that many seeds.
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t95(df: int) -> float:
    """Two-sided 95% Student-t quantile for `df` ≥ 1 degrees of freedom."""
    if df < 1:
        raise ValueError(f"t quantile needs df >= 1, got {df}")
    return T95[df - 1] if df <= len(T95) else 1.96


def describe(values) -> dict:
    """Mean, sample sd (n−1) and the 95% t-interval of the mean of `values`.

    None and NaN entries are dropped. One value: sd 0 and no interval (ci95_low, ci95_high and
    half_width are None). No values: mean is None too.
    """
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return {"mean": None, "sd": None, "n": 0, "ci95_low": None, "ci95_high": None, "half_width": None}
    mean = sum(xs) / n
    if n == 1:
        return {"mean": mean, "sd": 0.0, "n": 1, "ci95_low": None, "ci95_high": None, "half_width": None}
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t95(n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "n": n, "ci95_low": mean - half, "ci95_high": mean + half,
            "half_width": half}


def paired_difference(a, b, names: tuple[str, str] = ("A", "B")) -> dict:
    """Mean of a − b over paired seeds, its 95% t-interval, and a verdict.

    `a` and `b` are either mappings seed -> value (only seeds present in both pair up) or
    equal-length sequences (paired by position). Pairing removes the seed-to-seed variation
    the two share (same data order, same initial draw), so it is tighter than comparing means.
    Verdict: "within noise" when the interval contains 0, "<A> better" / "<B> better" when it
    lies on one side, "no interval (1 seed)" / "no paired seeds" when it cannot be computed.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        seeds = sorted(set(a) & set(b), key=str)
        diffs = [a[s] - b[s] for s in seeds if a[s] is not None and b[s] is not None]
    elif isinstance(a, Sequence) and isinstance(b, Sequence):
        if len(a) != len(b):
            raise ValueError(f"paired_difference: {len(a)} values vs {len(b)}")
        seeds = list(range(len(a)))
        diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    else:
        raise TypeError("paired_difference: pass two mappings seed -> value or two sequences")
    d = describe(diffs)
    if d["n"] == 0:
        verdict = "no paired seeds"
    elif d["half_width"] is None:
        verdict = "no interval (1 seed)"
    elif d["ci95_low"] <= 0 <= d["ci95_high"]:
        verdict = "within noise"
    else:
        verdict = f"{names[0]} better" if d["mean"] > 0 else f"{names[1]} better"
    return {**d, "seeds": seeds, "verdict": verdict}


def _num(x: float, digits: int, signed: bool) -> str:
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_ci(desc: dict, digits: int = 3, signed: bool = False) -> str:
    """'[0.905, 0.959]', or '—' when there is no interval (fewer than 2 values)."""
    if desc.get("half_width") is None:
        return "—"
    return f"[{_num(desc['ci95_low'], digits, signed)}, {_num(desc['ci95_high'], digits, signed)}]"


def fmt(desc: dict, digits: int = 3, ci: bool = False, signed: bool = False) -> str:
    """'0.932 ± 0.012' (with ci=True: '0.932 ± 0.012 [0.905, 0.959]'); one value: '0.932'; none: '—'."""
    if desc.get("mean") is None:
        return "—"
    text = _num(desc["mean"], digits, signed)
    if desc["n"] < 2:
        return text
    text += f" ± {desc['sd']:.{digits}f}"
    return f"{text} {fmt_ci(desc, digits, signed)}" if ci else text
