"""What every grid puzzle shares: fixed-size boards as strings, and augmentations.

A grid task (Sudoku, mazes, ARC) is a `Task` whose question and answer are row-major
strings of the same length over the task's `alphabet`, one character per cell. The
char tokenizer over that alphabet gives one token per cell, and the reasoner reads
the answer *in place* (at the question's positions; `answer_len=0`), as TRM does.

Augmentations are rule-preserving relabellings drawn per training row: a permutation
of the cells and a map of the symbols, `new[i] = symbol_map[old[perm[i]]]`, applied to
question and answer alike. They act on token ids, after tokenisation, so the training
loop stays free of Python strings.
"""
from __future__ import annotations

import torch

from ...tokenizer import SPECIALS
from ..base import Task


class GridTask(Task):
    """Base of grid tasks. Subclasses set `alphabet` and implement `examples`, `shape`
    and (optionally) `sample_augmentations`."""

    alphabet: str = ""  # one character per symbol; the tokenizer is CharTokenizer(alphabet)
    in_place = True

    def shape(self) -> tuple[int, int]:
        """(rows, columns) of every board of this task."""
        raise NotImplementedError

    def most_cells(self) -> int:
        """The most cells of a board in any split: what data.max_question_len must hold."""
        rows, cols = self.shape()
        return rows * cols

    def sample_augmentations(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(perm [n, cells] long, symbol_map [n, len(alphabet)] long) for n rows, or None
        when the task has no augmentation. Symbols are indices into `alphabet`."""
        return None

    def puzzle_names(self) -> list[str] | None:
        """Every puzzle identifier (`Example.family`) when the model should get a learned
        embedding per puzzle (ARC), in a fixed order: the embedding's rows. None otherwise."""
        return None


def dihedral_permutations(rows: int, cols: int) -> torch.Tensor:
    """[8, rows*cols]: the cell permutations of the 8 symmetries of a square board
    (rotations and reflections); `new[i] = old[perm[i]]`. Needs rows == cols."""
    if rows != cols:
        raise ValueError(f"dihedral symmetries need a square board, not {rows}x{cols}")
    idx = torch.arange(rows * cols).view(rows, cols)
    out = []
    for flip in (False, True):
        board = idx.t() if flip else idx
        for k in range(4):
            out.append(torch.rot90(board, k).reshape(-1))
    return torch.stack(out)


def apply_augmentations(tokens: torch.Tensor, perm: torch.Tensor, symbol_map: torch.Tensor) -> torch.Tensor:
    """Relabel a batch of boards given as token ids [B, cells] (char tokenizer over the
    alphabet: symbol s has id len(SPECIALS) + s). Special tokens (PAD, EOS) keep their ids."""
    offset = len(SPECIALS)
    moved = tokens.gather(1, perm)
    symbol = (moved - offset).clamp(min=0, max=symbol_map.shape[1] - 1)
    mapped = symbol_map.gather(1, symbol) + offset
    return torch.where(moved >= offset, mapped, moved)


def render(board: str, cols: int) -> list[str]:
    """A row-major board string as its rows."""
    return [board[i:i + cols] for i in range(0, len(board), cols)]
