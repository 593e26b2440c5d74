"""`python tests/stall_run.py ARGS` runs `trmlab ARGS`, but with STALL=save:N it stops inside
the checkpoint write of step N (half the file written, not yet renamed into place), and with
STALL=step:N before computing step N+1; it then touches $STALL_FLAG and sleeps, so a test
can SIGKILL it at exactly that point. Used by the kill -9 tests (also under torchrun)."""
import json
import os
import sys
import time

import trmlab.training.checkpoint as ckpt
from trmlab.cli import main
from trmlab.training.trainer import Trainer

where, _, at = os.environ.get("STALL", "none:0").partition(":")


def stall():
    """Touch the flag and wait to be killed. Under torchrun the test kills the launcher's process
    group, which the workers may not share: a worker whose parent is gone exits at once, as a
    kill would (no cleanup), instead of sleeping on as an orphan."""
    open(os.environ["STALL_FLAG"], "w").close()
    parent, deadline = os.getppid(), time.monotonic() + 600
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.1)
    os._exit(1)


def save_file(tensors, path, metadata):
    real_save_file(tensors, path, metadata=metadata)
    if where == "save" and json.loads(metadata["meta"])["step"] == int(at):
        os.truncate(path, os.path.getsize(path) // 2)
        stall()


def train_step(self):
    if where == "step" and self.step == int(at):
        stall()
    return real_train_step(self)


real_save_file, ckpt.save_file = ckpt.save_file, save_file
real_train_step, Trainer.train_step = Trainer.train_step, train_step
sys.exit(main(sys.argv[1:]))
