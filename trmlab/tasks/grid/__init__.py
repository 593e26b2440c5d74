"""Grid puzzles answered in place, one token per cell (sudoku, maze, arc). `base.py`:
boards as strings, augmentations as cell/symbol maps."""
