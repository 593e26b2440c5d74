"""Report cards: markdown tables and PNG plots written beside every run."""
from __future__ import annotations

import platform
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def table(headers: list[str], rows: list[list]) -> str:
    """A markdown table; floats get 3 decimals."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def human(n: float) -> str:
    """1234567 -> '1.23M'."""
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def environment() -> str:
    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {threads} threads"
    return (f"python {sys.version.split()[0]}, torch {torch.__version__}, {device}, "
            f"{platform.machine()} {platform.system()}")


def plot_depth_curves(curves: dict[str, list[float]], flat: dict[str, float], path: Path,
                      trained_steps: int | None = None, chance: float | None = None,
                      title: str = "Accuracy vs supervision steps") -> Path:
    """One line per curve (accuracy after step 1..S); horizontal lines for one-shot models."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, acc in curves.items():
        ax.plot(range(1, len(acc) + 1), acc, marker="o", markersize=3, label=label)
    for label, acc in flat.items():
        ax.axhline(acc, linestyle="--", linewidth=1.2, label=label)
    if chance is not None:
        ax.axhline(chance, linestyle=":", color="black", linewidth=1, label="majority-answer baseline")
    if trained_steps:
        ax.axvline(trained_steps, color="red", alpha=0.3, linewidth=1, label=f"N_sup in training = {trained_steps}")
    longest = max((len(a) for a in curves.values()), default=1)
    if longest > 16:
        ax.set_xscale("log", base=2)
    ax.set_xlabel("supervision steps at test time")
    ax.set_ylabel("exact-match accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_by_difficulty(series: dict[str, dict[int, float]], path: Path,
                       title: str = "Accuracy by difficulty", ylabel: str = "exact-match accuracy",
                       trained_max: int | None = None) -> Path:
    """Grouped bars: one group per difficulty, one bar per series."""
    keys = sorted({d for s in series.values() for d in s})
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in keys]
        ax.bar(xs, [values.get(k, float("nan")) for k in keys], width=width, label=label)
    if trained_max is not None:
        ax.axvline(trained_max + 0.5, color="red", alpha=0.4, linewidth=1, label="harder than training →")
    ax.set_xticks(keys)
    ax.set_xlabel("difficulty (reasoning steps)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
