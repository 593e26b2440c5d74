"""Share a model: export a checkpoint as a Hugging Face Hub folder, load one back, upload it.

An exported folder follows the Hub's convention for PyTorch models (that of
`huggingface_hub.PyTorchModelHubMixin`): `model.safetensors` (the EMA weights only),
`config.json` (enough to rebuild the model: the run config, the vocabulary size, the
tokenizer's kind), `tokenizer.json`, and a `README.md` model card whose metadata and
results are read from the run's own files. `RecursiveReasoner.from_pretrained(x)` (and
`TransformerLM`, `HRM`) loads a folder or a Hub repo id; every CLI command that takes a
checkpoint takes either, via `load_any`.

Local folders need nothing beyond the core install; repo ids and `push` need
`huggingface_hub` (pip install 'trmlab[hub]').
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .config import RunConfig
from .errors import CheckpointError
from .model import count_params
from .model.describe import (MODEL_NAMES, architecture, changed_fields, describe_training, halting_head, scheme_name,
                             step_unit, test_time)
# The folder's reader lives beside the models, the loaders of any source beside the trainer;
# their names stay importable from here.
from .model.pretrained import CARD, CONFIG, FORMAT, REPO_ID, TOKENIZER, WEIGHTS, huggingface_hub  # noqa: F401
from .training.loading import load_any, load_model, load_pretrained, training_checkpoint  # noqa: F401


# ---------------------------------------------------------------- export
def export(checkpoint: str | Path, out: str | Path, *, force: bool = False, license: str = "mit") -> Path:
    """Write the Hub folder of a training checkpoint; atomically (a temporary folder renamed
    into place), so a failure never leaves a half-written model."""
    from safetensors.torch import save_file

    checkpoint, out = training_checkpoint(checkpoint), Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists; choose another --out or pass --force to replace it")
    model, cfg, tokenizer, meta = load_model(checkpoint)
    params = count_params(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / WEIGHTS, metadata={"format": "pt"})
        config = {"format": FORMAT, "library_name": "trmlab", "model_type": cfg.model.kind,
                  "vocab_size": tokenizer.vocab_size, "tokenizer": {"kind": tokenizer.kind, "file": TOKENIZER},
                  "params": params, "step": meta["step"], "totals": meta["totals"],
                  "source_checkpoint": checkpoint.name, "run_config": cfg.to_dict()}
        (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        (tmp / TOKENIZER).write_text(json.dumps(tokenizer.to_dict()) + "\n")
        (tmp / CARD).write_text(model_card(cfg, meta, params, run_evaluation(checkpoint, meta), license))
        os.chmod(tmp, 0o755)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap_into_place(new: Path, out: Path) -> None:
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    os.replace(out, old / out.name)
    os.replace(new, out)
    shutil.rmtree(old)


def run_evaluation(checkpoint: Path, meta: dict) -> dict | None:
    """The evaluation that `trmlab compare` (results.json) or a study (cell.json) wrote for
    exactly this checkpoint: same model config and the evaluated checkpoint's step. Else the
    dev accuracy the trainer measured at this step (metrics.jsonl). None if there is neither."""
    run_dir = checkpoint.parent.parent  # <run>/checkpoints/<name>.safetensors
    records = []
    if (run_dir / "cell.json").is_file():
        records.append(("study cell", json.loads((run_dir / "cell.json").read_text())))
    if (run_dir.parent / "results.json").is_file():
        results = json.loads((run_dir.parent / "results.json").read_text())
        records += [(f"trmlab compare ({label})", m) for label, m in results.get("models", {}).items()]
    for source, rec in records:
        if rec.get("config") == meta["config"]["model"] and rec.get("best_checkpoint_step") == meta["step"]:
            return {"source": source, "eval": rec["eval"]}
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            rec = json.loads(line) if line.strip() else {}
            if rec.get("step") == meta["step"] and "dev_accuracy" in rec:
                return {"source": "the training log, metrics.jsonl", "dev_accuracy": rec["dev_accuracy"]}
    return None


# ---------------------------------------------------------------- the model card
def model_card(cfg: RunConfig, meta: dict, params: int, evaluation: dict | None, license: str = "mit") -> str:
    """The README.md of an exported folder: what the model is, how it was trained (the scheme
    in words and every model-config field changed from its default), and what it scored."""
    m, d, t = cfg.model, cfg.data, cfg.train
    tags = ["trmlab", "reasoning", "recursive-reasoning" if m.recursive else "rnn" if m.kind == "recurrent" else "transformer",
            m.kind, d.task]
    if m.kind == "reasoner":
        tags.append(m.recursion.replace("_", "-"))
    tags = list(dict.fromkeys(tags))  # the LM's kind is its tag already
    yaml = ["---", "library_name: trmlab", f"license: {license}", "tags:", *[f"- {tag}" for tag in tags], "---"]
    flops = meta["totals"].get("flops")
    cls = {"transformer": "TransformerLM", "hrm": "HRM", "recurrent": "RecurrentSeq"}.get(m.kind, "RecursiveReasoner")
    halting = halting_head(m)
    lines = [
        *yaml, "",
        f"# {cfg.name}", "",
        f"A {MODEL_NAMES.get(m.kind, m.kind)} trained with trmlab on the task `{d.task}`{_task_knobs(d)}, "
        f"{d.tokenizer} tokenizer. Training scheme: **{scheme_name(m)}**.", "",
        "## Use", "",
        "```python",
        f"from trmlab.model import {cls}",
        f"model = {cls}.from_pretrained(\"THIS_FOLDER_OR_REPO_ID\")",
        "```", "",
        "or `trmlab solve THIS_FOLDER_OR_REPO_ID \"question\"`, `trmlab demo THIS_FOLDER_OR_REPO_ID`, "
        "`trmlab eval THIS_FOLDER_OR_REPO_ID --file questions.jsonl`.", "",
        "## How it was trained", "",
        f"**Scheme.** {describe_training(m)[0].upper()}{describe_training(m)[1:]}.", "",
        *([f"**Halting head.** {halting}", ""] if halting else []),
        f"**At test time.** {test_time(m)}", "",
        "## Model and training", "",
        f"- parameters (counted): {params:,}",
        f"- architecture: {architecture(m)}",
        f"- training: {meta['step']} optimiser steps × batch {t.batch_size}, {t.optimizer} lr {t.lr}, "
        f"{t.precision}, seed {t.seed}; these are the EMA weights at step {meta['step']}",
        f"- training FLOPs (matmul, counted by the trainer): {flops:.3g}" if flops else
        "- training FLOPs: not recorded in the checkpoint",
        "", *_config_table(m), "",
        "## Results", "", *_results(evaluation, m), "",
    ]
    return "\n".join(lines)


def _task_knobs(d) -> str:
    """The task's knobs, where the run set any (the data folder is this machine's, not the model's)."""
    knobs = {k: v for k, v in d.knobs.items() if k != "data_dir"}
    return " (" + ", ".join(f"{k}={json.dumps(v)}" for k, v in knobs.items()) + ")" if knobs else ""


def _config_table(m) -> list[str]:
    """Every model-config field whose value is not the default of its class: every knob that
    changes what the model computes, including ones added to the config later."""
    changed = changed_fields(m)
    name = type(m).__name__
    if not changed:
        return [f"Model config: every field at the default of trmlab's `{name}` (the full config is in `config.json`)."]
    return [f"Model config fields changed from the defaults of trmlab's `{name}` (the full config is in `config.json`):",
            "", "| field | value | default |", "|---|---|---|",
            *[f"| `{k}` | `{_value(v)}` | `{_value(default)}` |" for k, (v, default) in changed.items()]]


def _value(v) -> str:
    return json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v)


def _results(evaluation: dict | None, m) -> list[str]:
    if evaluation is None:
        return ["This run has no evaluation of this checkpoint: `trmlab compare` or a study evaluates "
                "the best checkpoint on dev, test and OOD; until then no accuracy is claimed here."]
    if "eval" not in evaluation:
        return [f"Dev accuracy {evaluation['dev_accuracy']:.3f}, measured at this step during training "
                f"({evaluation['source']}); the run has no test or OOD evaluation."]
    ev = evaluation["eval"]
    grid = any("cell_accuracy" in e for e in ev.values())
    unit = step_unit(m)
    headline = next((e["step"] for e in ev.values() if "step" in e), m.n_sup if m.recursive else 1)
    lines = [f"Measured by {evaluation['source']} on this checkpoint (exact match"
             + (f", the answer after {headline} {unit}" if m.recursive else "") + "):", "",
             "| split | examples | accuracy |" + (" cell accuracy |" if grid else ""),
             "|---|---|---|" + ("---|" if grid else "")]
    for split, e in ev.items():
        cells = f" {e['cell_accuracy']:.3f} |" if "cell_accuracy" in e else ""
        lines.append(f"| {split} | {e['n']} | {e['accuracy']:.3f} |{cells}")
    curves = {s: e["accuracy_by_step"] for s, e in ev.items() if len(e.get("accuracy_by_step", [])) > 1}
    if curves:
        depth = max(len(c) for c in curves.values())
        shown = sorted({s for s in (1, 2, 4, 8, 16, 32, 64, 128, 256) if s <= depth} | {min(m.n_sup, depth), depth})
        lines += ["", f"Accuracy vs {unit} (training used N_sup = {m.n_sup}; evaluation went further):", "",
                  "| split | " + " | ".join(f"{s}" for s in shown) + " |", "|---|" + "---|" * len(shown)]
        lines += [f"| {s} | " + " | ".join(f"{c[k - 1]:.3f}" if k <= len(c) else "" for k in shown) + " |"
                  for s, c in curves.items()]
        if "mean_halt_step" in ev.get("dev", {}):
            lines += ["", f"Halting head (dev): mean stopping step {ev['dev']['mean_halt_step']:.2f}, never halted "
                      f"{ev['dev']['never_halted']:.1%}, accuracy where it stops {ev['dev']['accuracy_at_halt']:.3f}."]
    return lines


# ---------------------------------------------------------------- upload
def push(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Upload an exported folder to the Hub (creating the repo); returns the commit URL."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not an exported folder (make one with `trmlab export`)")
    if not REPO_ID.fullmatch(repo_id):
        raise ValueError(f"{repo_id!r} is not a Hub repo id (owner/name)")
    load_pretrained(folder)  # a folder that does not load back is never uploaded
    api = huggingface_hub().HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="Upload trmlab model")
    return str(getattr(commit, "commit_url", commit))
