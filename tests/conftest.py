import pytest
import torch

from trmlab.config import preset
from trmlab.data import load_splits
from trmlab.model import HRMConfig, ReasonerConfig, TransformerConfig, build_model

torch.set_num_threads(2)


def tiny_reasoner_config(**kw) -> ReasonerConfig:
    base = dict(d_model=32, n_layers=1, n_heads=2, n_latent=2, n_cycles=3, n_sup=4, n_registers=2,
                answer_len=4)
    base.update(kw)
    return ReasonerConfig(**base)


def tiny_transformer_config(**kw) -> TransformerConfig:
    base = dict(d_model=32, n_layers=1, n_heads=2, answer_len=4)
    base.update(kw)
    return TransformerConfig(**base)


@pytest.fixture(scope="session")
def smoke_data():
    """(tokenizer, splits) of the smoke preset's task."""
    return load_splits(preset("smoke").data)


@pytest.fixture
def reasoner(smoke_data):
    torch.manual_seed(0)
    return build_model(tiny_reasoner_config(), smoke_data[0].vocab_size).eval()


MODEL_VARIANTS = {
    "reasoner-shared-slot": lambda: tiny_reasoner_config(),
    "reasoner-distinct-slots": lambda: tiny_reasoner_config(distinct_slots=True),
    "reasoner-token-feedback": lambda: tiny_reasoner_config(distinct_slots=True, feedback="tokens"),
    "unrolled": lambda: tiny_reasoner_config(untied=True, n_cycles=1, n_latent=3, n_sup=2),
    # The schemes share evaluation; the injections change the forward (training: test_recursion.py).
    "reasoner-looped-concat": lambda: tiny_reasoner_config(recursion="looped", injection="concat"),
    "reasoner-recurrent-depth-norm": lambda: tiny_reasoner_config(recursion="recurrent_depth", injection="norm"),
    "reasoner-deq": lambda: tiny_reasoner_config(recursion="deq", distinct_slots=True),
    "hrm": lambda: HRMConfig(**{**vars(tiny_reasoner_config()), "n_latent": 2, "n_cycles": 2}),
    "transformer": lambda: tiny_transformer_config(),
    # The extrapolation recipes: per-row loop counts, incremental loss, local attention, no recall, no positions.
    "reasoner-looped-extrapolation": lambda: tiny_reasoner_config(
        recursion="looped", loops_per_token=0.25, incremental_alpha=0.5, extra_loops=1, window=2),
    "reasoner-looped-no-recall-nope": lambda: tiny_reasoner_config(recursion="looped", recall=False, positions="none"),
    "transformer-window-nope": lambda: tiny_transformer_config(window=3, positions="none"),
    # Random positions (Ruoss et al.): drawn afresh in training, one fixed draw per length at test.
    "transformer-random-positions": lambda: tiny_transformer_config(positions="random", max_positions=256),
    "transformer-coupled-positions": lambda: tiny_transformer_config(positions="coupled"),
}


@pytest.fixture(params=list(MODEL_VARIANTS))
def any_model(smoke_data, request):
    """Every model the leakage tests must hold for."""
    torch.manual_seed(0)
    return build_model(MODEL_VARIANTS[request.param](), smoke_data[0].vocab_size).eval()


@pytest.fixture
def transformer(smoke_data):
    torch.manual_seed(0)
    return build_model(tiny_transformer_config(), smoke_data[0].vocab_size).eval()


@pytest.fixture(scope="session")
def smoke_compare(tmp_path_factory):
    """`trmlab compare --preset smoke`, finished and evaluated: its folder (shared by the tests)."""
    from trmlab.cli import main
    out = tmp_path_factory.mktemp("runs")
    assert main(["compare", "--preset", "smoke", "--out", str(out), "--no-progress"]) == 0
    return out / "smoke"


@pytest.fixture(scope="session")
def exported_reasoner(smoke_compare, tmp_path_factory):
    """(training checkpoint, its exported Hub folder) of the smoke reasoner."""
    from trmlab.hub import export
    ckpt = smoke_compare / "reasoner" / "checkpoints" / "best.safetensors"
    return ckpt, export(ckpt, tmp_path_factory.mktemp("export") / "reasoner")


@pytest.fixture(scope="session")
def grid_checkpoint(tmp_path_factory):
    """A briefly trained TRM-Att on 4x4 Sudoku (the sudoku-smoke study's), its best checkpoint."""
    from trmlab.study.presets import load_study
    from trmlab.training.trainer import train
    study = load_study("sudoku-smoke")
    spec = next(m for m in study.models if m.name == "trm-att")
    cfg = study.run_config(study.tasks[0], spec, 0)
    out = tmp_path_factory.mktemp("grid") / "run"
    train(cfg, out, progress=False)
    return out / "checkpoints" / "best.safetensors"
