"""Exported model folders, read: `from_pretrained` for every model, after huggingface_hub's
ModelHubMixin convention (a folder or Hub repo id with config.json + model.safetensors +
tokenizer.json). Kept here, beside the models, rather than inheriting the library's mixin so
that the core install does not need huggingface_hub; `trmlab.hub` writes the folders
(export, push) and `trmlab.training.loading` reads them with their run config."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import CheckpointError
from ..tokenizer import tokenizer_from_dict
from .config import model_config_from_dict
from .registry import build_model, count_params

FORMAT = "trmlab-pretrained-v1"
WEIGHTS, CONFIG, TOKENIZER, CARD = "model.safetensors", "config.json", "tokenizer.json", "README.md"
REQUIRED = (CONFIG, WEIGHTS, TOKENIZER)
REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")


class PretrainedMixin:
    @classmethod
    def from_pretrained(cls, name_or_path, *, device="cpu", **download):
        """The model of an exported folder (`trmlab export`) or a Hub repo id, in eval mode.
        `download`: huggingface_hub.snapshot_download options (revision, token, ...).
        For its tokenizer and run config too: `trmlab.training.loading.load_pretrained`."""
        model = read_folder(name_or_path, device=device, **download)[0]
        if not isinstance(model, cls):
            raise CheckpointError(f"{name_or_path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def huggingface_hub():
    try:
        import huggingface_hub as hub
    except ImportError:
        raise ImportError("Hub repo ids and `trmlab push` need huggingface_hub: "
                          "pip install 'trmlab[hub]'") from None
    return hub


def read_folder(source: str | Path, *, device="cpu", **download):
    """(model in eval mode, config.json as a dict, tokenizer, meta) of an exported folder or a Hub repo
    id (`download`: huggingface_hub.snapshot_download options, e.g. revision, token); every way a
    folder can be incomplete or damaged is a CheckpointError that says which."""
    from safetensors.torch import load_file
    folder = resolve(source, **download)
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder} is not a complete trmlab model folder: "
                              f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    config = read_json(folder / CONFIG)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{folder / CONFIG} is not a trmlab model config (format "
                              f"{config.get('format') if isinstance(config, dict) else None!r})")
    lacking = [key for key in ("run_config", "step") if key not in config]
    if lacking:
        raise CheckpointError(f"{folder / CONFIG} lacks {', '.join(lacking)}")
    try:
        model_cfg = model_config_from_dict((config["run_config"] or {}).get("model", {"kind": "reasoner"}))
        tokenizer = tokenizer_from_dict(read_json(folder / TOKENIZER))
        state = load_file(folder / WEIGHTS, device=str(device))
        model = build_model(model_cfg, tokenizer.vocab_size, device)
        model.load_state_dict(state)
    except CheckpointError:
        raise
    except Exception as e:  # a damaged or mismatched file, whatever the library raises for it
        raise CheckpointError(f"{folder}: the model cannot be rebuilt from its files: {e}") from e
    meta = {"step": config["step"], "params": count_params(model), "totals": config.get("totals", {})}
    return model.eval(), config, tokenizer, meta


def resolve(source: str | Path, **download) -> Path:
    """A local folder, or a Hub repo id downloaded into the Hub's cache."""
    path = Path(source)
    if path.is_dir():
        return path
    if path.exists() or not REPO_ID.fullmatch(str(source)):
        raise CheckpointError(f"no checkpoint, run folder, exported folder or Hub repo id at {source}")
    try:
        return Path(huggingface_hub().snapshot_download(str(source), **download))
    except ImportError:
        raise
    except Exception as e:  # offline, no such repo, no access: the library's own message says which
        reason = " ".join(str(e).split())  # the library's message, on one line
        raise CheckpointError(f"{source} is not a local folder and the Hub repo could not be read: {reason}") from e


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not readable JSON: {e}") from e
