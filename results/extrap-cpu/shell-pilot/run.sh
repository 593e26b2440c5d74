#!/bin/bash
# The shell-game pilots: train each config here (data seed 0; the looped 3,000-step config also at
# training seeds 1 and 2, -o train.seed=N), then evaluate 200 questions per size. Run from the repo
# root; the runs go to runs/shell-pilot/<config name>. Output, verbatim: output.txt.
here=results/extrap-cpu/shell-pilot
for cfg in looped-1000 looped-3000 single-pass-3000 transformer-3000 untied-3000; do
  OMP_NUM_THREADS=1 trmlab train --config $here/$cfg.json --out runs/shell-pilot --no-progress >/dev/null
done
for seed in 1 2; do
  OMP_NUM_THREADS=1 trmlab train --config $here/looped-3000.json -o train.seed=$seed \
    --name pilot-shell-looped-3000-seed$seed --out runs/shell-pilot --no-progress >/dev/null
done
for run in runs/shell-pilot/*; do
  extra=""; case $run in *looped*) extra="--steps 64 --until-settled 4";; esac
  for where in test "ood -k ood_difficulty=[16,16]" "ood -k ood_difficulty=[32,32]"; do
    echo "== $run --split $where"
    OMP_NUM_THREADS=1 trmlab eval $run --split $where --n 200 $extra 2>&1 | grep -E "accuracy [0-9.]+ (after|at)|until settled"
  done
done
