"""Training curves in TensorBoard (`-o train.log=tensorboard`; pip install 'trmlab[tensorboard]').

`metrics.jsonl` stays the source of truth: every record written there is mirrored here,
as event files in the run folder beside it. TensorBoard names a run by its folder, so
`tensorboard --logdir runs/<study>` shows a whole study, each cell as <task>/<model>/seed<N>.
"""
from __future__ import annotations

import json
from pathlib import Path

# metrics.jsonl field -> TensorBoard tag
TAGS = {"loss": "train/loss", "row_acc": "train/accuracy", "lr": "train/learning_rate",
        "mean_halt_step": "halting/mean_steps", "halt_rate": "halting/rate",
        "dev_accuracy": "eval/dev_accuracy"}


class TensorBoardLog:
    def __init__(self, run_dir: Path, cfg, resumed_at: int | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError("train.log=tensorboard needs TensorBoard: pip install 'trmlab[tensorboard]'") from None
        # After a resume, drop what an earlier process logged past the checkpoint (the JSONL does the same).
        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=None if resumed_at is None else resumed_at + 1)
        self.writer.add_text("run", f"`{cfg.name}`: {cfg.model.kind} on {cfg.data.task}, seed {cfg.train.seed}\n\n"
                             f"```\n{json.dumps(cfg.to_dict(), indent=2)}\n```", global_step=resumed_at or 0)
        self.last = None  # (wall_s, rows, new_examples) of the previous training record: throughput

    def write(self, record: dict) -> None:
        step = record["step"]
        for key, tag in TAGS.items():
            if key in record:
                self.writer.add_scalar(tag, record[key], step)
        if "wall_s" in record:
            now = (record["wall_s"], record["rows"], record["new_examples"])
            if self.last and now[0] > self.last[0]:
                seconds = now[0] - self.last[0]
                self.writer.add_scalar("throughput/rows_per_s", (now[1] - self.last[1]) / seconds, step)
                self.writer.add_scalar("throughput/new_examples_per_s", (now[2] - self.last[2]) / seconds, step)
            self.last = now
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def make_tracker(kind: str, run_dir: Path, cfg, resumed_at: int | None = None):
    """The extra curve writer `train.log` names, or None for the JSONL only."""
    return TensorBoardLog(run_dir, cfg, resumed_at) if kind == "tensorboard" else None
