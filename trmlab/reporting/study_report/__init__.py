"""The report of `trmlab study`: results over models × tasks × seeds -> report.md + PNG plots.

Input is the study's `results` dict (also saved as results.json): run facts at the top and one
entry per (task, model, seed) in `results["cells"]`, each with the evaluation summaries
(`EvalResult.summary`) of its dev / test / OOD splits. Every number in the report is a mean over
seeds with its sample sd and a 95% t-interval (`stats.describe`); comparisons pair seeds
(`stats.paired_difference`) and say "within noise" when the interval of the difference holds 0.
A section whose models are absent (no "depth" cells, no OOD split, one seed...) is left out or
shown without intervals, never faked.

Grid puzzles (Sudoku, mazes: cells whose `config.answer_len` is 0, answers read in place) get
their own headline (exact accuracy = whole board right, and cell accuracy = share of cells right,
on test, OOD and every extra held-out set of the task's `eval_sets`), exact and cell accuracy vs
test-time supervision steps, and pictures of a few test boards step by step (`boards` of a cell:
puzzle, target and the model's board after steps 1, 2, 4, ..., wrong cells in red).

A study with a learning-rate grid adds `results["tuning"]`: per (task, model) the tuning seed, each
grid lr's best dev accuracy and the chosen lr, shown as a "Learning-rate tuning" table per task
(with `tune.weight_decay`, each (lr, weight decay) point and the chosen pair).

Tasks that differ only in their training-set size (ids `<task>-n<size>`) get one "Accuracy vs
training-set size" section (`data_size.py`), under the first of them: test accuracy per size, the
train − test gap (cells that scored their training questions: eval split "train", which is never
treated as a held-out set) and the examples each model needs to reach given accuracies.

Layout: one module per section of a task's report, each with `section(view) -> markdown lines`
(`view.TaskView` holds what they read); `write.py` puts them in order. A new section is a new
module and one entry in `write.SECTIONS`.
"""
from .write import task_section, write_study_report

__all__ = ["task_section", "write_study_report"]
