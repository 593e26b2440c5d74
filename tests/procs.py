"""Running trmlab in child processes for the distributed and kill -9 tests."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STALL_RUN = str(Path(__file__).with_name("stall_run.py"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def command(args, ranks: int = 1) -> list[str]:
    """`trmlab ARGS` through the stall helper, under torchrun when ranks > 1."""
    launch = [sys.executable]
    if ranks > 1:
        launch += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
    return [*launch, STALL_RUN, *args]


def run(args, ranks: int = 1, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(command(args, ranks), env=ENV, capture_output=True, text=True, timeout=300, cwd=cwd)


def kill_at(args, stall: str, tmp: Path, ranks: int = 1) -> None:
    """Start `trmlab ARGS`, wait until it stalls at `stall` (save:N or step:N, see stall_run.py),
    then SIGKILL it and every process it started."""
    flag = tmp / "stalled"
    flag.unlink(missing_ok=True)
    with open(tmp / "stderr.txt", "w") as err:
        proc = subprocess.Popen(command(args, ranks), env={**ENV, "STALL": stall, "STALL_FLAG": str(flag)},
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 240
    while not flag.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"never reached {stall}: {(tmp / 'stderr.txt').read_text()[-2000:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
