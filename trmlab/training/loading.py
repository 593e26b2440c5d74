"""Loading a model with its run config and tokenizer from anything that holds one: a training
checkpoint (.safetensors), a run folder (its best checkpoint), an exported folder or a Hub repo id.

Every CLI command that takes a checkpoint takes any of these, via `load_any`. The exported folder
itself is read beside the models (`trmlab.model.pretrained`); this adds its run config.
"""
from __future__ import annotations

from pathlib import Path

from ..config import RunConfig
from ..errors import CheckpointError
from ..model import build_model
from ..model.pretrained import read_folder, resolve
from ..tokenizer import tokenizer_from_dict
from . import checkpoint as ckpt


def load_model(path: str | Path, ema: bool = True, device="cpu"):
    """(model, RunConfig, tokenizer, meta) from a checkpoint; the EMA weights by default."""
    tensors, meta = ckpt.load_checkpoint(path)
    cfg = RunConfig.from_dict(meta["config"])
    tokenizer = tokenizer_from_dict(meta["tokenizer"])
    model = build_model(cfg.model, tokenizer.vocab_size, device)
    try:
        model.load_state_dict(ckpt.unprefixed("ema" if ema else "model", tensors))
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit its config: {e}") from e
    return model.eval(), cfg, tokenizer, meta


def load_pretrained(source: str | Path, *, device="cpu", **download):
    """(model, RunConfig, tokenizer, meta) from an exported folder or a Hub repo id
    (`download`: huggingface_hub.snapshot_download options, e.g. revision, token)."""
    folder = resolve(source, **download)
    model, config, tokenizer, meta = read_folder(folder, device=device)
    try:
        cfg = RunConfig.from_dict(config["run_config"])
    except Exception as e:  # a run config this version cannot read
        raise CheckpointError(f"{folder}: the model cannot be rebuilt from its files: {e}") from e
    return model, cfg, tokenizer, meta


def load_any(source: str | Path, *, ema: bool = True, device="cpu"):
    """(model, RunConfig, tokenizer, meta) from a training checkpoint (.safetensors), a run
    folder (its best checkpoint), an exported folder or a Hub repo id."""
    path = training_checkpoint(source)
    if path.is_file():
        return load_model(path, ema=ema, device=device)
    if not ema:
        raise CheckpointError(f"{source}: an exported model holds the EMA weights only; "
                              "the raw weights are in the training checkpoint")
    return load_pretrained(source, device=device)


def training_checkpoint(source: str | Path) -> Path:
    """A run folder stands for its best checkpoint; any other path is itself."""
    path = Path(source)
    best = path / "checkpoints" / "best.safetensors"
    return best if path.is_dir() and best.is_file() else path
