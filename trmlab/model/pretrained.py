"""`from_pretrained` for every model, after huggingface_hub's ModelHubMixin convention
(a folder or Hub repo id with config.json + model.safetensors). Kept here rather than
inheriting the library's mixin so that the core install does not need huggingface_hub."""
from __future__ import annotations


class PretrainedMixin:
    @classmethod
    def from_pretrained(cls, name_or_path, *, device="cpu", **download):
        """The model of an exported folder (`trmlab export`) or a Hub repo id, in eval mode.
        `download`: huggingface_hub.snapshot_download options (revision, token, ...).
        For its tokenizer and run config too: `trmlab.hub.load_pretrained`."""
        from ..hub import load_pretrained
        from ..training.checkpoint import CheckpointError
        model = load_pretrained(name_or_path, device=device, **download)[0]
        if not isinstance(model, cls):
            raise CheckpointError(f"{name_or_path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model
