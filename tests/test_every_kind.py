"""Every user-facing command works on every model kind (reasoner, transformer LM, HRM):
`export`, `eval --file`, `solve`, and the demo (its page, and its app where Gradio is
installed); and `solve` prints the decoded answer, with the raw slots under `--raw`."""
import json

import pytest
import torch

from trmlab.cli import main
from trmlab.hub import export, load_any
from trmlab.model import HRMConfig, ReasonerConfig, TransformerConfig
from trmlab.model.describe import describe_training
from trmlab.tokenizer import EOS, PAD

from .test_model_card import TINY, tiny_run

KINDS = {"reasoner": ReasonerConfig(**TINY), "transformer": TransformerConfig(d_model=32, n_layers=1, n_heads=2, answer_len=4),
         "hrm": HRMConfig(**TINY)}
QUESTION = "Ann has 3 pens. She buys 2 more. How many pens does Ann have?"


@pytest.fixture(scope="module", params=list(KINDS))
def exported(request, tmp_path_factory):
    """(kind, run folder, exported folder) of a one-step run of each model kind."""
    tmp = tmp_path_factory.mktemp(request.param)
    run = tiny_run(KINDS[request.param], tmp / "run")
    return request.param, run, export(run, tmp / "out")


def test_export_eval_file_solve_and_demo_work_on_every_kind(exported, smoke_data, tmp_path, capsys):
    kind, run, folder = exported
    assert json.loads((folder / "config.json").read_text())["model_type"] == kind
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question": ex.question, "answer": ex.answer}) + "\n"
                                 for ex in smoke_data[1]["dev"].examples[:5])
                         + json.dumps({"question": "x" * 300, "answer": "1"}) + "\n")
    for source in (run, folder):
        assert main(["eval", str(source), "--file", str(questions)]) == 0
        out = capsys.readouterr().out
        assert "5 examples: accuracy" in out and "1 question: too long (line 6)" in out

    assert main(["solve", str(folder), QUESTION]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    m = load_any(folder)[1].model
    assert lines[0].endswith(describe_training(m)) and lines[1] == QUESTION and out.err == ""
    assert len(lines) == 2 + (m.n_sup if m.recursive else 1)

    from trmlab.demo import Demo
    demo = Demo(str(folder))
    page, plot = demo.answer(QUESTION)
    assert '<table id="trm-steps">' in page and page.count('<td class="step">') == (m.n_sup if m.recursive else 1)
    assert (plot is None) == (kind == "transformer") and describe_training(m) in demo.title
    try:
        import gradio  # noqa: F401
    except ImportError:
        return
    from trmlab.demo import build_app
    assert "trm-result" in {b.elem_id for b in build_app(demo).blocks.values()}


def test_solve_prints_the_decoded_answer_and_the_raw_slots_under_a_flag(exported, capsys, monkeypatch):
    """A step whose slots hold no EOS decodes through every slot (what evaluation scores) and
    says so; one with an EOS decodes up to it. --raw shows each slot, specials by name."""
    kind, _, folder = exported
    model, cfg, tokenizer, meta = load_any(folder)
    b, gt, c, a = tokenizer.encode("b>ca")
    slots = torch.tensor([[[b, gt, b, b]], [[c, EOS, a, PAD]]])  # [S=2, B=1, F=4]
    if not cfg.model.recursive:
        slots = slots[1:]  # the LM decodes once
    monkeypatch.setattr(model, "predict", lambda batch, steps=None: {"tokens": slots})
    monkeypatch.setattr("trmlab.hub.load_any", lambda source, **kw: (model, cfg, tokenizer, meta))
    assert main(["solve", str(folder), QUESTION]) == 0
    plain = capsys.readouterr().out.splitlines()[2:]
    assert main(["solve", str(folder), QUESTION, "--raw"]) == 0
    raw = capsys.readouterr().out.splitlines()[2:]
    if cfg.model.recursive:
        assert plain == ["step   1: b>bb   (unfinished: no EOS in its 4 answer slots)", "step   2: c"]
        assert raw == [plain[0], "    slots: 'b' '>' 'b' 'b'", plain[1], "    slots: 'c' <eos> 'a' <pad>"]
    else:
        assert plain == ["answer: c"] and raw == ["answer: c", "    slots: 'c' <eos> 'a' <pad>"]
    assert [tokenizer.decode(s[0]) for s in slots][-1] == "c"  # evaluation's decode
