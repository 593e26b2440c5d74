"""Report cards: markdown tables and PNG plots written beside every run."""
from __future__ import annotations

import platform
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
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
    from ..precision import native_bf16
    threads = torch.get_num_threads()
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    else:  # the capability says whether bf16 ran natively (precision.py)
        bf16 = "native" if native_bf16("cpu")[0] else "emulated"
        device = f"CPU ({torch.backends.cpu.get_cpu_capability()}, bf16 {bf16}), {threads} threads"
    return (f"python {sys.version.split()[0]}, torch {torch.__version__}, {device}, "
            f"{platform.machine()} {platform.system()}")


def plot_depth_curves(curves: dict[str, list[float]], flat: dict[str, float], path: Path,
                      trained_steps: int | None = None, chance: float | None = None,
                      title: str = "Accuracy vs supervision steps") -> Path:
    """One line per curve (accuracy after step 1..S); horizontal lines for one-shot models."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    draw_depth_curves(ax, curves, flat, trained_steps=trained_steps, chance=chance)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_depth_curves(ax, curves: dict[str, list[float]], flat: dict[str, float], *,
                      trained_steps: int | None = None, chance: float | None = None,
                      bands: dict[str, list[float]] | None = None, flat_bands: dict[str, float] | None = None,
                      colors: dict[str, str] | None = None, marks: dict[str, int] | None = None,
                      log_x: bool | None = None) -> None:
    """Accuracy after step 1..S on `ax`: a line per curve, a dashed line per one-shot model.

    Optional: `bands` (± sd per step, shaded), `flat_bands` (± sd of a one-shot model, shaded),
    `colors` per label, `marks` (a star on a curve at that step, e.g. its trained N_sup), and
    `log_x` (True: log2 axis with ticks at powers of 2; default: log2 once curves pass 16 steps).
    """
    bands, flat_bands, colors, marks = bands or {}, flat_bands or {}, colors or {}, marks or {}
    for label, acc in curves.items():
        xs = range(1, len(acc) + 1)
        # on an explicit log axis, mark only steps 1, 2, 4, ... (the points crowd to the right otherwise)
        every = [2 ** i - 1 for i in range(len(acc).bit_length()) if 2 ** i <= len(acc)] if log_x else None
        line, = ax.plot(xs, acc, marker="o", markersize=3, label=label, color=colors.get(label), markevery=every)
        if label in bands:
            lo = [m - s for m, s in zip(acc, bands[label])]
            hi = [m + s for m, s in zip(acc, bands[label])]
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        if marks.get(label) and marks[label] <= len(acc):
            ax.plot([marks[label]], [acc[marks[label] - 1]], marker="*", markersize=11, color=line.get_color(),
                    markeredgecolor="black", markeredgewidth=0.6, linestyle="none")
    for label, acc in flat.items():
        line = ax.axhline(acc, linestyle="--", linewidth=1.2, label=label, color=colors.get(label))
        if flat_bands.get(label):
            ax.axhspan(acc - flat_bands[label], acc + flat_bands[label], color=line.get_color(), alpha=0.1,
                       linewidth=0)
    if chance is not None:
        ax.axhline(chance, linestyle=":", color="black", linewidth=1, label="majority-answer baseline")
    if trained_steps:
        ax.axvline(trained_steps, color="red", alpha=0.3, linewidth=1, label=f"N_sup in training = {trained_steps}")
    longest = max((len(a) for a in curves.values()), default=1)
    if log_x or (log_x is None and longest > 16):
        ax.set_xscale("log", base=2)
    if log_x:
        ticks = [2 ** i for i in range(longest.bit_length()) if 2 ** i <= longest]
        ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("supervision steps at test time")
    ax.set_ylabel("exact-match accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


def plot_by_difficulty(series: dict[str, dict[int, float]], path: Path,
                       title: str = "Accuracy by difficulty", ylabel: str = "exact-match accuracy",
                       trained_max: int | None = None, errors: dict[str, dict[int, float]] | None = None,
                       colors: dict[str, str] | None = None) -> Path:
    """Grouped bars: one group per difficulty, one bar per series (optional ± `errors` bars, `colors`)."""
    errors, colors = errors or {}, colors or {}
    keys = sorted({d for s in series.values() for d in s})
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in keys]
        yerr = [errors[label].get(k, 0.0) for k in keys] if label in errors else None
        ax.bar(xs, [values.get(k, float("nan")) for k in keys], width=width, label=label, yerr=yerr,
               capsize=2 if yerr else 0, error_kw={"linewidth": 0.8}, color=colors.get(label))
    if trained_max is not None:
        ax.axvline(trained_max + 0.5, color="red", alpha=0.4, linewidth=1, label="harder than training →")
    ax.set_xticks(keys)
    ax.set_xlabel("difficulty (reasoning steps)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    if errors or colors:  # the study's plots: many series, so the legend goes below the axes
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        fig.savefig(path, bbox_inches="tight")
    else:
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path)
    plt.close(fig)
    return path


def model_colors(labels: list[str]) -> dict[str, tuple]:
    """One fixed colour per model, so a model looks the same in every plot of a report."""
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def plot_depth_panels(panels: dict[str, dict], path: Path, title: str | None = None) -> Path:
    """Accuracy vs test-time steps, one panel per entry (e.g. ID and OOD), one legend below.

    Each panel is a dict of `draw_depth_curves` keyword arguments (curves, flat, bands, ...).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.4, 5.2 * len(panels)), 4.0), dpi=120, squeeze=False,
                             sharey=True)
    handles = {}
    for ax, (name, kw) in zip(axes[0], panels.items()):
        kw = dict(kw)
        draw_depth_curves(ax, kw.pop("curves", {}), kw.pop("flat", {}), **kw)
        ax.set_title(name, fontsize=10)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)  # one legend entry per model across panels
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=2, fontsize=7, frameon=False)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_errorbar_lines(series: dict[str, tuple[list, list, list]], path: Path, *, xlabel: str,
                        ylabel: str = "exact-match accuracy", title: str = "", log_x: bool = False,
                        point_labels: list[str] | None = None, chance: dict[str, float] | None = None) -> Path:
    """One line per series through (x, mean) points with ± sd error bars.

    `series`: label -> (xs, means, sds); `point_labels` annotate the points of the first series
    (e.g. each config's "(n, T)"); `chance`: label -> level, dotted, in the colour of the same-index series.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, (xs, means, sds) in series.items():
        ax.errorbar(xs, means, yerr=sds, marker="o", markersize=4, capsize=3, linewidth=1.2, label=label)
    for i, (label, level) in enumerate((chance or {}).items()):  # coloured like the i-th series
        ax.axhline(level, linestyle=":", linewidth=1, color=f"C{i}", label=label)
    if point_labels and series:
        xs, means, _ = next(iter(series.values()))
        for x, y, text in zip(xs, means, point_labels):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(0, 9), fontsize=7, ha="center")
    ax.margins(x=0.12)  # room for the point labels
    if log_x:
        ax.set_xscale("log", base=2)
        xs_all = sorted({x for xs, _, _ in series.values() for x in xs})
        ax.set_xticks(xs_all, [f"{x:g}" for x in xs_all])
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_accuracy_vs_cost(points: dict[str, dict], path: Path, *, colors: dict | None = None,
                          title: str = "") -> Path:
    """Accuracy vs counted parameters (left) and vs total training FLOPs (right), log x.

    `points`: model label -> {"params": p, "flops": f, "splits": {split: (mean, sd)}}; one colour
    per model, one marker per split (filled circle = first split, e.g. test; hollow triangle = next).
    """
    markers = [("o", "full"), ("^", "none"), ("s", "none")]
    splits = list(dict.fromkeys(s for p in points.values() for s in p["splits"]))
    colors = colors or model_colors(list(points))
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.0), dpi=120, sharey=True)
    for ax, key, xlabel in ((axes[0], "params", "parameters (counted)"),
                            (axes[1], "flops", "training FLOPs (total)")):
        for label, p in points.items():
            for i, split in enumerate(splits):
                if split not in p["splits"] or not p.get(key):
                    continue
                mean, sd = p["splits"][split]
                marker, fill = markers[i % len(markers)]
                ax.errorbar([p[key]], [mean], yerr=[sd], marker=marker, fillstyle=fill, markersize=6,
                            capsize=3, color=colors[label], linestyle="none")
        xs = [p[key] for p in points.values() if p.get(key)]
        if xs and max(xs) > 3 * min(xs):
            ax.set_xscale("log")
        else:  # e.g. parameter-matched models: a log axis over a 1% range reads badly
            ax.margins(x=0.3)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel(xlabel)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("exact-match accuracy (mean ± sd over seeds)")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    handles = [Line2D([], [], color=colors[label], marker="o", linestyle="none", label=label) for label in points]
    handles += [Line2D([], [], color="black", marker=markers[i % 3][0], fillstyle=markers[i % 3][1],
                       linestyle="none", label=split) for i, split in enumerate(splits)]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=7, frameon=False)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
