#!/usr/bin/env bash
# Make one virtualenv per peer under $PEER_VENVS (default /work/peer-venvs), outside the repo.
# torch is pinned in every pip command: unpinned, pip pulls a multi-GB CUDA build.
# Existing venvs are kept (delete one to rebuild it).
set -euo pipefail
VENVS=${PEER_VENVS:-/work/peer-venvs}
TORCH=${TORCH_PIN:-torch==2.13.0}
mkdir -p "$VENVS" && cd "$VENVS"
make() {  # make NAME PIP-ARGS...: a venv and one pip install into it
  local name=$1; shift
  [ -x "$name/bin/python" ] && return 0
  python3 -m venv "$name" && "$name/bin/pip" install -q "$TORCH" "$@"
}
make trm tiny-recursive-model==0.0.15 x-transformers
make ibert iterative-bert==0.1.2
make hf transformers
# nano-trm 0.1.0 declares Python ==3.12.1 exactly and installs a top-level package named `src`:
# no deps, then what its TRMModule imports.
if [ ! -x nanotrm/bin/python ]; then
  python3 -m venv nanotrm
  nanotrm/bin/pip install -q --no-deps --ignore-requires-python nano-trm==0.1.0
  nanotrm/bin/pip install -q "$TORCH" lightning hydra-core omegaconf rich scikit-learn einops
fi
for v in trm ibert hf nanotrm; do echo "$VENVS/$v: $("$v/bin/python" -c 'import torch; print("torch", torch.__version__)')"; done
