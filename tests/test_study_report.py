"""The study's statistics and report writer, on synthetic results (no training)."""
import json
import math
import random

import pytest

from trmlab.reporting.stats import describe, fmt, paired_difference, t95
from trmlab.reporting.study_report import write_study_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# model id -> (label, groups, kind, recursive, n_latent, n_cycles, n_sup, base accuracy)
MODELS = {
    "reasoner": ("recursive reasoner (n=2, T=2, N_sup=4)", ["main", "depth", "halting", "feedback"],
                 "reasoner", True, 2, 2, 4, 0.80),
    "transformer": ("transformer LM (2 × 128)", ["main"], "transformer", False, None, None, None, 0.85),
    "single_pass": ("single pass (n=T=N_sup=1)", ["main"], "reasoner", False, 1, 1, 1, 0.60),
    "depth_1_1": ("recursive reasoner (n=1, T=1, N_sup=4)", ["depth"], "reasoner", True, 1, 1, 4, 0.70),
    "depth_6_3": ("recursive reasoner (n=6, T=3, N_sup=4)", ["depth"], "reasoner", True, 6, 3, 4, 0.83),
    "fixed_nsup": ("fixed N_sup = 4, no halting", ["halting"], "reasoner", True, 2, 2, 4, 0.78),
    "token_feedback": ("decoded-token feedback", ["feedback"], "reasoner", True, 2, 2, 4, 0.65),
}


def summary(rng, base, recursive, difficulties, eval_steps, n_sup, drop):
    """An EvalResult.summary-shaped dict with made-up but consistent numbers."""
    acc = min(1.0, max(0.0, base - drop + rng.uniform(-0.03, 0.03)))
    if recursive:
        by_step = [max(0.0, acc - 0.3 / s + 0.3 / n_sup - 0.002 * max(0, s - n_sup)) for s in range(1, eval_steps + 1)]
        acc = by_step[n_sup - 1]
    else:
        by_step = [acc]
    by_diff = {str(d): max(0.0, acc - 0.1 * (d - difficulties[0])) for d in difficulties}
    halts = {str(d): 1.0 + 0.4 * (d - 1) + rng.uniform(0, 0.2) for d in difficulties} if recursive else \
        {str(d): 1.0 for d in difficulties}
    return {"n": 200, "step": n_sup or 1, "accuracy": acc, "accuracy_by_step": by_step,
            "accuracy_by_difficulty": by_diff, "mean_halt_step": sum(halts.values()) / len(halts),
            "never_halted": 0.01 if recursive else 0.0, "accuracy_at_halt": acc + 0.01,
            "halt_step_by_difficulty": halts}


def synthetic_results(seeds=(0, 1, 2), tasks=("arithmetic",), models=tuple(MODELS), ood=True, eval_steps=16):
    rng = random.Random(0)
    cells = []
    for task in tasks:
        for mid in models:
            label, groups, kind, recursive, n, T, n_sup, base = MODELS[mid]
            for seed in seeds:
                ev = {"dev": summary(rng, base, recursive, [1, 2], eval_steps, n_sup or 1, 0.0),
                      "test": summary(rng, base, recursive, [1, 2], eval_steps, n_sup or 1, 0.0)}
                if ood:
                    ev["ood"] = summary(rng, base, recursive, [3, 4], eval_steps, n_sup or 1, 0.5)
                params = 427905 if mid != "transformer" else 426752
                cells.append({"task": task, "model": mid, "label": label, "group": groups[0], "groups": groups,
                              "seed": seed, "kind": kind, "recursive": recursive, "params": params,
                              "train_flops_per_example": 1.7e9 * (T or 0.15) * ((n or 0) + 1),
                              "train_flops": 1.1e14 * (T or 0.15) * ((n or 0) + 1), "wall_s": 60.0 + seed,
                              "train_steps": 300, "best_checkpoint_step": 300,
                              "train_mean_halt_step": 1.7 if recursive else None,
                              "n_latent": n, "n_cycles": T, "n_sup": n_sup,
                              "config": {"n_layers": 2} if kind == "reasoner" else {"n_layers": 2, "d_model": 128},
                              "eval": ev})
    return {"name": "synthetic", "command": "trmlab study cpu-quick",
            "environment": "python 3.11.7, torch 2.13.0+cpu, CPU, 2 threads, x86_64 Linux",
            "study": {"name": "synthetic", "seeds": list(seeds), "tasks": list(tasks)}, "wall_s": 812.3,
            "eval_steps": eval_steps,
            "tasks": {t: {"knobs": {"ops": [1, 2]}, "train_difficulty": [1, 2], "ood_difficulty": [3, 4],
                          "majority_baseline": {"dev": 0.08, "test": 0.07, "ood": 0.05} if ood else
                          {"dev": 0.08, "test": 0.07}} for t in tasks},
            "cells": cells}


# --- statistics -------------------------------------------------------------------------------

def test_describe_hand_computed():
    d = describe([0.5, 0.6, 0.7])
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(0.6)
    assert d["sd"] == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)
    assert d["half_width"] == pytest.approx(half)
    assert (d["ci95_low"], d["ci95_high"]) == (pytest.approx(0.6 - half), pytest.approx(0.6 + half))
    assert fmt(d) == "0.600 ± 0.100"
    assert fmt(d, ci=True) == f"0.600 ± 0.100 [{0.6 - half:.3f}, {0.6 + half:.3f}]"


def test_t_table():
    assert t95(1) == 12.706 and t95(2) == 4.303 and t95(30) == 2.042 and t95(31) == 1.96


def test_one_seed_and_empty():
    d = describe([0.9])
    assert d["mean"] == 0.9 and d["sd"] == 0.0 and d["half_width"] is None and d["ci95_low"] is None
    assert fmt(d, ci=True) == "0.900"
    assert describe([])["mean"] is None and fmt(describe([])) == "—"
    assert describe([0.5, float("nan"), None])["n"] == 1
    p = paired_difference({0: 0.9}, {0: 0.8})
    assert p["n"] == 1 and p["mean"] == pytest.approx(0.1) and p["verdict"] == "no interval (1 seed)"
    assert paired_difference({0: 0.9}, {1: 0.8})["verdict"] == "no paired seeds"


def test_paired_difference_pairs_seeds():
    # a − b over seeds 0,1,2 (seed 3 only in a, ignored): diffs 0.1, 0.2, 0.3
    d = paired_difference({0: 0.6, 1: 0.7, 2: 0.8, 3: 0.0}, {2: 0.5, 0: 0.5, 1: 0.5}, names=("R", "T"))
    assert d["n"] == 3 and d["seeds"] == [0, 1, 2]
    assert d["mean"] == pytest.approx(0.2) and d["sd"] == pytest.approx(0.1)
    assert d["half_width"] == pytest.approx(4.303 * 0.1 / math.sqrt(3))
    assert d["verdict"] == "within noise"  # 0.2 ± 4.303·0.1/√3 = [−0.048, 0.448] holds 0
    d = paired_difference({0: 0.6, 1: 0.62, 2: 0.64}, {0: 0.5, 1: 0.5, 2: 0.5}, names=("R", "T"))
    assert d["mean"] == pytest.approx(0.12) and d["sd"] == pytest.approx(0.02)
    assert d["verdict"] == "R better"  # 0.12 ± 0.0497 excludes 0
    assert paired_difference([0.5, 0.5, 0.5], [0.6, 0.62, 0.64], names=("R", "T"))["verdict"] == "T better"


def test_paired_difference_within_noise():
    # diffs +0.1, −0.05, +0.02: CI straddles 0
    d = paired_difference([0.7, 0.6, 0.62], [0.6, 0.65, 0.6])
    assert d["ci95_low"] < 0 < d["ci95_high"]
    assert d["verdict"] == "within noise"


# --- the report -------------------------------------------------------------------------------

def test_study_report_full(tmp_path):
    results = json.loads(json.dumps(synthetic_results()))  # str difficulty keys, as after results.json
    path = write_study_report(results, tmp_path)
    text = path.read_text()
    assert path == tmp_path / "report.md"
    for heading in ("# trmlab study: synthetic", "## Task `arithmetic`", "### Headline",
                    "### `reasoner` vs every other model", "### Accuracy vs test-time supervision steps",
                    "### Depth axis (b)", "### Depth axis (c)", "### Adaptive compute", "### Feedback ablation",
                    "### Generalisation", "### Accuracy vs parameters and training FLOPs", "## Reproduce",
                    "trmlab study cpu-quick", '"seeds": [', "Chance"):
        assert heading in text, heading
    assert "± " in text and "[" in text  # mean ± sd [CI]
    assert "within noise" in text or "better" in text
    for kind in ("steps", "depth", "halting", "halt_by_difficulty", "by_difficulty", "cost"):
        png = tmp_path / f"arithmetic_{kind}.png"
        assert png.exists(), png
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert f"]({png.name})" in text
    assert "layer applications per supervision step" in text  # n_layers known -> honest axis name
    assert "| 1 | 2 | 4 | 8 | 16 |" not in text  # step headers are '1 step', '2 steps', ...
    assert "16 steps" in text and "32 steps" not in text  # only steps <= eval_steps
    assert "Learning-rate tuning" not in text  # no grid, no tuning section


def test_study_report_one_seed_no_ood_int_keys(tmp_path):
    results = synthetic_results(seeds=(0,), models=("reasoner", "transformer"), ood=False, eval_steps=4)
    for c in results["cells"]:  # int difficulty keys, as straight from EvalResult.summary
        for s in c["eval"].values():
            s["accuracy_by_difficulty"] = {int(k): v for k, v in s["accuracy_by_difficulty"].items()}
    for c in results["cells"]:
        c["groups"] = ["main"]
    text = write_study_report(results, tmp_path).read_text()
    assert "OOD acc" not in text and "| OOD |" not in text
    assert "no interval (1 seed)" in text
    assert "### Depth axis" not in text and "### Feedback" not in text
    assert (tmp_path / "arithmetic_steps.png").read_bytes()[:8] == PNG_MAGIC


def test_study_report_single_model_two_tasks(tmp_path):
    results = synthetic_results(tasks=("arithmetic", "logic"), models=("transformer",))
    for c in results["cells"]:
        c.pop("groups")
        c.pop("config")
    text = write_study_report(results, tmp_path).read_text()
    assert "## Task `logic`" in text and "vs every other model" not in text
    assert "### Accuracy vs test-time" not in text  # no recursive model
    assert (tmp_path / "logic_by_difficulty.png").exists()


# --- grid puzzles -----------------------------------------------------------------------------

GRID_MODELS = {"trm-mlp": ("TRM-MLP", "reasoner", True), "hrm": ("HRM", "hrm", True),
               "direct": ("direct prediction", "reasoner", False)}
SUDOKU = ("3002104301300320", "3412124321344321")
MAZE = ("#####" "#S  #" "# # #" "#  G#" "#####", "#####" "#Soo#" "# #o#" "#  G#" "#####")


def grid_cell(task, mid, seed, board, rng):
    """A grid cell as `trmlab study` records it: exact and cell accuracy, extra eval set, boards."""
    label, kind, recursive = GRID_MODELS[mid]
    steps = 4 if recursive else 1
    question, answer = board

    def summary(base):
        cells = [min(1.0, base + 0.1 * s + rng.uniform(0, 0.05)) for s in range(steps)]
        exact = [max(0.0, c - 0.5) for c in cells]
        return {"n": 16, "step": min(3, steps), "accuracy": exact[min(3, steps) - 1], "accuracy_by_step": exact,
                "cell_accuracy": cells[min(3, steps) - 1], "cell_accuracy_by_step": cells}
    wrong = "".join("?" if i % 3 == 0 else ch for i, ch in enumerate(answer))
    by_step = {str(s): (answer if s == 4 else wrong) for s in (1, 2, 4) if s <= steps}
    return {"task": task, "model": mid, "label": label, "groups": ["main"], "seed": seed, "kind": kind,
            "recursive": recursive, "params": 1000, "wall_s": 3.0, "train_flops": 1e9, "train_steps": 10,
            "best_checkpoint_step": 10, "train_mean_halt_step": 2.5 if recursive else 1.0,
            "n_latent": 2, "n_cycles": 2, "n_sup": 3 if recursive else 1,
            "config": {"kind": kind, "answer_len": 0, "n_layers": 1}, "eval_steps": steps,
            "eval": {"dev": summary(0.5), "test": summary(0.5), "ood": summary(0.4), "harder": summary(0.3)},
            "boards": [{"question": question, "answer": answer, "by_step": by_step}] * 3}


def test_study_report_grid_tasks(tmp_path):
    rng = random.Random(0)
    cells = [grid_cell("sudoku", mid, seed, SUDOKU, rng) for mid in GRID_MODELS for seed in (0, 1)]
    cells += [grid_cell("maze", mid, 0, MAZE, rng) for mid in GRID_MODELS]
    results = {"name": "grids", "eval_steps": 4, "tasks": {}, "cells": cells}
    text = write_study_report(results, tmp_path).read_text()
    assert "transformer" not in text.split("## Task")[0]  # no transformer in a grid study
    for task in ("sudoku", "maze"):
        section = text.split(f"## Task `{task}`")[1].split("\n## ")[0]
        assert "cell acc" in section and "cell accuracy" in section.lower() and "harder exact" in section
        assert "### Exact and cell accuracy vs test-time supervision steps" in section
        assert "| 1 step | 2 steps | 4 steps |" in section and " / " in section
        assert "### Boards, step by step" in section and "wrong (x)" in section
        for png in (f"{task}_steps.png", f"{task}_boards_trm-mlp.png"):
            assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC
            assert f"]({png})" in section
    assert "± " in text.split("## Task `maze`")[0]  # two sudoku seeds: mean ± sd
    assert "| harder |" in text  # extra eval set in the comparisons


def test_study_report_learning_rate_tuning(tmp_path):
    results = synthetic_results(models=("reasoner", "transformer"))
    chosen = {"reasoner": 1e-3, "transformer": 3e-3}
    for c in results["cells"]:
        c["run_config"] = {"train": {"lr": chosen[c["model"]]}}
    results["tuning"] = [
        {"task": "arithmetic", "model": "reasoner", "seed": 100, "chosen_lr": 1e-3,
         "grid": [{"lr": 1e-3, "best_dev": 0.41}, {"lr": 3e-3, "best_dev": 0.405}, {"lr": 1e-2, "best_dev": 0.1}]},
        {"task": "arithmetic", "model": "transformer", "seed": 100, "chosen_lr": 3e-3,
         "grid": [{"lr": 1e-3, "best_dev": 0.6}, {"lr": 3e-3, "best_dev": 0.7}, {"lr": 3e-2, "best_dev": 0.2}]}]
    results["tuning_compute_s"] = 120.0
    text = write_study_report(results, tmp_path).read_text()
    section = text.split("### Learning-rate tuning")[1].split("###")[0]
    assert "| model | id | lr 0.001 | lr 0.003 | lr 0.01 | lr 0.03 | chosen lr |" in section
    assert "| `reasoner` | **0.410** | 0.405 | 0.100 | — | **0.001** (edge) |" in section  # the smallest tried
    assert "| `transformer` | 0.600 | **0.700** | — | 0.200 | **0.003** |" in section
    assert "tuning seed 100" in section
    headline = text.split("### Headline")[1].split("###")[0]
    assert "| `reasoner` | 0.001 |" in headline and "| `transformer` | 0.003 |" in headline
    assert "(2.0 min of it learning-rate tuning)" in text
    assert "The tuning runs trained" not in text  # the same horizon as the study seeds (or none recorded)
    for r in results["tuning"]:
        r["steps"] = 100  # tune.steps: shorter than the seeds' 300
    section = write_study_report(results, tmp_path).read_text().split("### Learning-rate tuning")[1].split("###")[0]
    assert "The tuning runs trained 100 steps each" in section and "the study seeds train 300 at the chosen lr" in section


def test_study_report_accuracy_vs_training_set_size(tmp_path):
    """Tasks that differ only in n_train get one size section (under the first), a PNG, the gap and the
    sizes needed; a study without size tasks or train scores is untouched by it."""
    sizes = (250, 1000, 4000)
    results = synthetic_results(tasks=tuple(f"phop-n{n}" for n in sizes), models=("reasoner", "transformer"))
    for c in results["cells"]:
        n = int(c["task"].split("-n")[1])
        c["run_config"] = {"data": {"task": "phop", "n_train": n}, "train": {"lr": 1e-3}}
        lift = {250: -0.3, 1000: -0.1, 4000: 0.1}[n] if c["model"] == "reasoner" else {250: -0.4, 1000: -0.2, 4000: 0.0}[n]
        for split in ("dev", "test", "ood"):
            c["eval"][split]["accuracy"] = min(1.0, max(0.0, c["eval"][split]["accuracy"] + lift))
        c["eval"]["train"] = {**c["eval"]["test"], "accuracy": 1.0 - 0.01 * c["seed"]}
    report = write_study_report(results, tmp_path).read_text()
    assert report.count("### Accuracy vs training-set size: `phop`") == 1
    first = report.index("## Task `phop-n250`")
    assert first < report.index("### Accuracy vs training-set size") < report.index("## Task `phop-n1000`")
    assert (tmp_path / "phop_data_size.png").read_bytes()[:8] == PNG_MAGIC
    assert "Generalisation gap" in report and "Examples needed" in report and "test ≥ 0.5" in report
    assert "`reasoner` − `transformer`" in report
    # "train" is not a held-out set: only the reproduce table shows it as a column
    assert "| train |" in report.split("## Reproduce")[1] and "| train |" not in report.split("## Reproduce")[0]
    section = report[report.index("### Accuracy vs training-set size"):report.index("## Task `phop-n1000`")]
    reasoner_gap = next(l for l in section.splitlines() if l.startswith("| recursive reasoner") and " / " in l)
    assert "+" in reasoner_gap  # train above test: a positive gap
    plain = synthetic_results()
    assert "training-set size" not in write_study_report(plain, tmp_path / "plain").read_text()
