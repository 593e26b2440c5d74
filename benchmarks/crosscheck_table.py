"""The cross-check's table, from the JSON files `benchmarks/crosscheck.py` wrote (plain Python).

    python3 benchmarks/crosscheck_table.py results/crosscheck/*.json
"""
import json
import sys

SHOWN = (1, 2, 4, 8, 16)


def label(d: dict) -> str:
    """The run's harness options, compactly."""
    parts = [f"loss={d['loss']}", f"PAD mask={'yes' if d.get('mask_pad') else 'no'}", f"init={d.get('init', 'package')}"]
    if d["net"] != "matched":
        parts.append(f"net={d['net']}")
    if d.get("carry", "keep") != "keep":
        parts.append(f"carry={d['carry']}")
    return ", ".join(parts)


def curve(r: dict) -> str:
    acc = r["accuracy_by_step"]
    return " / ".join(f"{acc[s - 1]:.3f}" for s in SHOWN if s <= len(acc))


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    runs.sort(key=lambda d: (-d["settings"]["n_sup"], label(d), d["seed"]))
    print("| run | seed | N_sup | steps | best step | dev @N_sup | test @N_sup | OOD @N_sup | dev after 1/2/4/8/16 | "
          "test after 1/2/4/8/16 | OOD after 1/2/4/8/16 | train CPU s | train wall s | params |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in runs:
        b, k = d["eval"]["best"], d["settings"]["n_sup"]
        name = label(d)
        at = {s: b[s]["accuracy_by_step"][k - 1] for s in ("dev", "test", "ood")}
        print(f"| {name} | {d['seed']} | {k} | {d['settings']['steps']} | {d['best_checkpoint_step']} | {at['dev']:.3f} | {at['test']:.3f} | "
              f"{at['ood']:.3f} | {curve(b['dev'])} | {curve(b['test'])} | {curve(b['ood'])} | "
              f"{d['train']['cpu_s_incl_dev_evals']:.0f} | {d['train']['wall_s']:.0f} | {d['params']:,} |")
    print()
    print("Last checkpoint (EMA after the final step), test after 1/2/4/8/16:")
    print()
    for d in runs:
        if "last" in d["eval"]:
            print(f"- {label(d)}, N_sup={d['settings']['n_sup']}, seed {d['seed']}: {curve(d['eval']['last']['test'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
