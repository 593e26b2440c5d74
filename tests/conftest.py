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
