#!/usr/bin/env bash
# The whole benchmark, one command, from the repository root:
#
#     benchmarks/run_all.sh            # -> results/bench.md and results/bench.json
#
# trmlab at config (a) (reasoner, reasoner with the MLP mixer, transformer LM, HRM) in bf16 and
# fp32, the default preset's models and the paper-size reasoner in bf16; the peers
# (tiny-recursive-model, nano-trm, iterative-bert) at (a) in bf16 and fp32; GPT-2 next to
# the transformer LM; then all of (a) and the LM shape again through torch.compile, trmlab and
# peers alike; the 64-step depth curve against one 64-step evaluation; reasoner-a and its
# fastest peer timed alternately PAIRED times (a ratio per round); ratios, MFU against a
# measured matmul peak, hardware, versions and this command. About 40 minutes on a 2-core CPU
# (run it on an otherwise idle machine).
#
# Settings (environment): REPEATS (timed steps per case, default 5), WARMUP (default 2), PAIRED
# (paired rounds, default 3; 0 for none), PEER_VENVS (default
# /work/peer-venvs, made by benchmarks/setup_peers.sh when missing), THREADS (default:
# all cores), OUT (default results), PYTHON (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-5}
WARMUP=${WARMUP:-2}
PAIRED=${PAIRED:-3}
THREADS=${THREADS:-$(nproc)}
OUT=${OUT:-results}
PYTHON=${PYTHON:-.venv/bin/python}
export PEER_VENVS=${PEER_VENVS:-/work/peer-venvs}
for v in trm ibert hf nanotrm; do
  [ -x "$PEER_VENVS/$v/bin/python" ] || { bash benchmarks/setup_peers.sh; break; }
done
exec "$PYTHON" benchmarks/peers.py --venvs "$PEER_VENVS" --precision bf16,fp32 --repeats "$REPEATS" \
  --warmup "$WARMUP" --threads "$THREADS" --extra default,paper --paper-repeats "$REPEATS" --compile bf16 \
  --depth-curve --paired "$PAIRED" --out "$OUT"
