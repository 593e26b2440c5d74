"""`trmlab bench` on a tiny config: the harness runs the real training path and reports
sane numbers (no timing assertions: only structure and ranges)."""
import json

from trmlab import bench
from trmlab.cli import main


def test_bench_harness_reports_throughput_mfu_and_memory(tmp_path):
    results = bench.run_bench(["reasoner-tiny", "transformer-tiny", "hrm-tiny"], ["bf16"], repeats=1, warmup=1,
                              isolate=False, peak_shapes=[(512, 512, 512)], log=lambda *_: None)
    assert results["peak"]["bf16"]["flops_per_s"] > 0
    assert results["environment"]["threads"] >= 1
    assert [c["name"] for c in results["cases"]] == ["reasoner-tiny", "transformer-tiny", "hrm-tiny"]
    for case in results["cases"]:
        train, ev = case["train"], case["eval"]
        assert case["params"] > 0 and case["seq_len"] > 0 and case["batch"] == bench.TINY["batch"]
        assert train["s_per_step"]["n"] == 1 and train["s_per_step"]["median"] > 0
        for key in ("examples_per_s", "tokens_per_s", "flops_per_step", "flops_per_s", "peak_memory_mb"):
            assert train[key] > 0, key
        assert 0 < train["mfu"] < 1 and 0 < ev["mfu"] < 1
        assert ev["examples_per_s"] > 0
    assert results["cases"][0]["seq_len"] == bench.TINY["seq_len"]
    json_path, md_path = bench.write(results, tmp_path)
    assert json.loads(json_path.read_text())["cases"][1]["model"] == "transformer"
    assert "| reasoner-tiny | bf16 |" in md_path.read_text()


def test_bench_scheme_case_counts_the_unrolled_iterations():
    """A scheme case trains through the Unrolled objective: 4 looped iterations per step,
    each with gradients, so more FLOPs per step than TRM's one supervision step."""
    results = bench.run_bench(["reasoner-tiny", "reasoner-tiny-looped"], ["bf16"], repeats=1, warmup=1,
                              isolate=False, peak_shapes=[(256, 256, 256)], log=lambda *_: None)
    trm, looped = (c["train"] for c in results["cases"])
    assert looped["iterations_per_step"] == 4 and "iterations_per_step" not in trm
    assert looped["flops_per_step"] > 3 * trm["flops_per_step"]
    assert bench.split_scheme("reasoner-a-looped-ckpt") == ("reasoner-a", "looped-ckpt")
    assert bench.case_config("reasoner-a-looped-ckpt")[0].model.checkpointing


def test_bench_cli_rejects_unknown_cases(capsys):
    assert main(["bench", "--cases", "nope"]) == 2
    assert "unknown bench case" in capsys.readouterr().err


def _load_peers():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"
    spec = importlib.util.spec_from_file_location("bench_peers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peer_ratios_pick_the_fastest_peer_per_precision():
    peers = _load_peers()

    def case(name, precision, ex_s, kind="reasoner"):
        s = {"median": 64 / ex_s, "min": 64 / ex_s, "max": 64 / ex_s, "n": 5, "spread": 0.0}
        return {"name": name, "model": kind, "precision": precision, "params": 1, "batch": 64, "seq_len": 81,
                "train": {"s_per_step": s, "examples_per_s": ex_s, "tokens_per_s": 81 * ex_s, "mfu": 0.5,
                          "flops_per_s": 1e9, "peak_memory_mb": 1.0},
                "eval": {"examples_per_s": 1.0, "steps": 4, "mfu": 0.1}}

    compiled = dict(case("reasoner-a", "bf16", 90.0), compile=True)
    results = {"environment": {"cpu": "x", "threads": 2, "python": "3", "torch": "2"},
               "peak": {"bf16": {"flops_per_s": 2e9}},
               "cases": [case("reasoner-a", "bf16", 60.0), compiled],
               "peers": [dict(case("nano-trm", "bf16", 30.0), compared_with="reasoner-a"),
                         dict(case("iterative-bert", "bf16", 40.0), compared_with="reasoner-a"),
                         dict(case("iterative-bert", "bf16", 45.0), compared_with="reasoner-a", compile=True)]}
    results["side_by_side"] = peers.side_by_side(results)
    results["vs_fastest_peer"] = fastest = peers.vs_fastest_peer(results)
    # eager against eager, compiled against compiled: never across
    assert [r["ratio"] for r in results["side_by_side"]] == [2.0, 1.5, 2.0]
    assert [(r["compile"], r["fastest_peer"], r["ratio"]) for r in fastest] == [
        (False, "iterative-bert", 1.5), (True, "iterative-bert", 2.0)]
    text = peers.markdown(results)
    assert "| reasoner-a | bf16 | 60.0 | iterative-bert | 40.0 | 1.50x |" in text
    assert "| reasoner-a (compiled) | bf16 | 90.0 | iterative-bert (compiled) | 45.0 | 2.00x |" in text


def test_given_peaks_are_not_measured_again():
    given = {"bf16": {"flops_per_s": 123.0, "by_shape": {}}}
    results = bench.run_bench([], ["bf16"], peaks=given, isolate=False, log=lambda *_: None)
    assert results["peak"]["bf16"]["flops_per_s"] == 123.0


def test_paired_rounds_time_trmlab_and_the_fastest_peer_alternately(monkeypatch):
    peers = _load_peers()
    order, ours, theirs = [], iter([60.0, 50.0]), iter([40.0, 50.0])

    def fake_bench(cases, precisions, **kw):
        order.append(("trmlab", kw["compile"]))
        return {"cases": [{"train": {"examples_per_s": next(ours)}}]}

    def fake_peer(venvs, venv, driver, extra, precision, args, compile=False):
        order.append((venv, compile))
        return {"train": {"examples_per_s": next(theirs)}}

    monkeypatch.setattr(peers.bench, "run_bench", fake_bench)
    monkeypatch.setattr(peers, "run_peer", fake_peer)
    args = type("Args", (), dict(paired=2, warmup=2, repeats=5, threads=2, venvs=None))()
    results = {"peak": {}, "vs_fastest_peer": [
        {"trmlab": "reasoner-a", "precision": "bf16", "compile": True, "fastest_peer": "tiny-recursive-model"},
        {"trmlab": "transformer-default-fixed", "precision": "bf16", "compile": False, "fastest_peer": "gpt2"}]}
    rows = peers.paired(results, args)
    assert order == [("trmlab", True), ("trm", True), ("trmlab", True), ("trm", True)]
    assert rows == [{"trmlab": "reasoner-a", "peer": "tiny-recursive-model", "precision": "bf16",
                     "compile": True, "ratios": [1.5, 1.0], "median": 1.25}]
    text = peers.markdown({"environment": {"cpu": "x", "threads": 2, "python": "3", "torch": "2"},
                           "peak": {}, "cases": [], "paired": rows})
    assert "| reasoner-a (compiled) | tiny-recursive-model (compiled) | bf16 | 1.50x, 1.00x | 1.25x |" in text


def test_the_extrapolation_bench_case_is_the_studys_looped_cell():
    """bench sits beside study (neither imports the other), so its looped-extrap case spells the
    extrap-quick looped cell out again: this keeps the two the same model, data and batch."""
    from trmlab.bench.cases import case_config
    from trmlab.study.presets import study_extrap_quick
    study = study_extrap_quick()
    cell = study.run_config(study.tasks[0], next(m for m in study.models if m.name == "looped"), 0)
    case, _ = case_config("looped-extrap", "fp32", threads=1)
    assert case.model == cell.model
    assert {k: getattr(case.data, k) for k in ("task", "knobs", "seed", "answer_len", "max_question_len")} == {
        k: getattr(cell.data, k) for k in ("task", "knobs", "seed", "answer_len", "max_question_len")}
    assert (case.train.batch_size, case.train.eval_batch_size, case.train.threads) == (
        cell.train.batch_size, cell.train.eval_batch_size, cell.train.threads)
