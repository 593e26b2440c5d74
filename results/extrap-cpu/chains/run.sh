#!/bin/bash
# Chained-carry evaluation of extrap-cpu's long-addition checkpoints (seeds 0-2), run from the
# folder that holds runs/extrap-cpu (`trmlab study extrap-cpu --out runs`). Every sum carries
# from the first column through every other (carry_chain=1); 300 questions per (model, seed, size).
# The looped model is read at its size rule T(n) and at the oracle-free stop (unchanged for 4
# iterations: extrap-cpu's settle_patience), capped at 128 iterations; one-pass models once.
for model in looped untied single-pass; do
 for seed in 0 1 2; do
  for where in test ood ood32; do
   case $where in
    test) args="--split test";;                          # 1-8 digits, the trained sizes
    ood) args="--split ood";;                            # 16 digits (2x)
    ood32) args="--split ood -k ood_difficulty=[32,32]";; # 32 digits (4x)
   esac
   extra=""; [ $model = looped ] && extra="--steps 128 --until-settled 4"
   echo "== $model seed$seed $where"
   OMP_NUM_THREADS=1 trmlab eval runs/extrap-cpu/long_addition/$model/seed$seed $args -k carry_chain=1 --n 300 $extra 2>&1 \
     | grep -E "accuracy [0-9.]+ (after|at)|until settled|Error|error"
  done
 done
done
