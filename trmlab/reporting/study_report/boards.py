"""Grid puzzles' boards, step by step: pictures of a few test boards and one as text."""
from __future__ import annotations

import math
from pathlib import Path

from matplotlib.colors import to_rgb

from ..report import plt
from .cells import Model, slug
from .view import TaskView

BOARD_STEPS = (1, 2, 4, 16)  # steps drawn in the board pictures (and the last one recorded)
MAZE_COLORS = {"#": "#343a40", " ": "#ffffff", "S": "#2f9e44", "G": "#e8590c", "o": "#4dabf7"}
WRONG = "#ff8787"


def section(t: TaskView) -> list[str]:
    block = boards_section(t.ms, t.ref, t.task, t.out) if t.grid else []
    return ["### Boards, step by step", ""] + block if block else []


def board_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of a board of n cells: square when n is a square, else one row."""
    side = math.isqrt(n)
    return (side, side) if side * side == n else (1, n)


def board_steps(board: dict) -> list[str]:
    """The recorded steps to draw: those of BOARD_STEPS, and the last one recorded."""
    recorded = sorted(board["by_step"], key=int)
    return [s for s in recorded if int(s) in BOARD_STEPS or s == recorded[-1]]


def draw_board(ax, board: str, question: str, target: str | None, title: str) -> None:
    """One board on `ax`. Mazes (boards with walls '#'): one colour per symbol; Sudoku and other digit
    boards: digits, givens black and filled-in cells blue, '0' blank. With a `target`, cells that differ
    from it are red."""
    rows, cols = board_shape(len(board))
    maze = "#" in question
    wrong = [target is not None and ch != target[i] for i, ch in enumerate(board)]
    face = [WRONG if bad else MAZE_COLORS.get(ch, "#adb5bd") if maze else "#ffffff" for ch, bad in zip(board, wrong)]
    ax.imshow([[to_rgb(face[r * cols + c]) for c in range(cols)] for r in range(rows)], interpolation="nearest")
    if not maze:
        for i, ch in enumerate(board):
            if ch != "0":
                ax.text(i % cols, i // cols, ch, ha="center", va="center", fontsize=max(4, min(14, 100 / cols)),
                        color="black" if question[i] != "0" else "#1c7ed6")
        box = math.isqrt(cols)
        for k in range(cols + 1):  # thin cell lines, thick box lines
            width = 1.2 if box * box == cols and k % box == 0 else 0.3
            ax.axhline(k - 0.5, color="black", linewidth=width)
            ax.axvline(k - 0.5, color="black", linewidth=width)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def plot_boards(boards: list[dict], path: Path, title: str) -> Path:
    """One row per board: puzzle, target and the model's board after each drawn step."""
    steps = board_steps(boards[0])
    fig, axes = plt.subplots(len(boards), len(steps) + 2, figsize=(1.9 * (len(steps) + 2), 2.4 * len(boards)),
                             dpi=120, squeeze=False)
    for row, b in zip(axes, boards):
        q, a = b["question"], b["answer"]
        draw_board(row[0], q, q, None, "puzzle")
        draw_board(row[1], a, q, None, "target")
        for ax, s in zip(row[2:], steps):
            pred = b["by_step"].get(s, "")
            if len(pred) != len(a):
                ax.axis("off")
                continue
            n_wrong = sum(x != y for x, y in zip(pred, a))
            draw_board(ax, pred, q, a, f"step {s}: {n_wrong} wrong")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def board_text(board: dict) -> list[str]:
    """A markdown code block: puzzle, target, the last recorded step and where it is wrong ('x')."""
    q, a = board["question"], board["answer"]
    last = board_steps(board)[-1]
    pred = board["by_step"][last]
    marks = "".join("." if x == y else "x" for x, y in zip(pred, a))
    rows, cols = board_shape(len(q))
    width = max(cols, 12)
    parts = [("puzzle", q), ("target", a), (f"step {last}", pred), ("wrong (x)", marks)]
    lines = ["  ".join(name.ljust(width) for name, _ in parts).rstrip()]
    lines += ["  ".join(text[r * cols:(r + 1) * cols].ljust(width) for _, text in parts).rstrip()
              for r in range(rows)]
    return ["```text"] + lines + ["```", ""]


def boards_section(models: list[Model], ref: Model | None, task: str, out: Path, k: int = 2) -> list[str]:
    """Pictures of the first k test boards of the reference model and of the strongest other model
    (by test cell accuracy), step by step; a text rendering of the reference model's first board."""
    with_boards = [m for m in models if m.first.get("boards")]
    if not with_boards:
        return []
    first = ref if ref in with_boards else next((m for m in with_boards if m.recursive), with_boards[0])
    others = [m for m in with_boards if m is not first]
    shown = [first] + ([max(others, key=lambda m: m.desc("test", "cell_accuracy")["mean"] or 0.0)] if others else [])
    lines = [f"The first {k} test puzzles, the target and the model's board after some test-time supervision "
             "steps (seed " f"{first.first['seed']}). Red: a wrong cell. Sudoku: givens black, filled-in digits "
             "blue; mazes: walls dark, start green, goal orange, path blue.", ""]
    for m in shown:
        path = out / f"{slug(task)}_boards_{slug(m.id)}.png"
        plot_boards(m.first["boards"][:k], path, f"{task}: {m.name} (seed {m.first['seed']})")
        lines += [f"**{m.name}**", "", f"![{m.name} boards]({path.name})", ""]
    lines += [f"{first.name}, first test puzzle as text:", ""] + board_text(first.first["boards"][0])
    return lines


