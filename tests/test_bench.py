"""`trmlab bench` on a tiny config: the harness runs the real training path and reports
sane numbers (no timing assertions: only structure and ranges)."""
import json

from trmlab import bench
from trmlab.cli import main


def test_bench_harness_reports_throughput_mfu_and_memory(tmp_path):
    results = bench.run_bench(["reasoner-tiny", "transformer-tiny"], ["bf16"], repeats=1, warmup=1,
                              isolate=False, peak_shapes=[(512, 512, 512)], log=lambda *_: None)
    assert results["peak"]["bf16"]["flops_per_s"] > 0
    assert results["environment"]["threads"] >= 1
    assert [c["name"] for c in results["cases"]] == ["reasoner-tiny", "transformer-tiny"]
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


def test_bench_cli_rejects_unknown_cases(capsys):
    assert main(["bench", "--cases", "nope"]) == 2
    assert "unknown bench case" in capsys.readouterr().err
