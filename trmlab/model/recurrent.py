"""The recurrent rival: an LSTM or GRU that reads the question left to right and writes the
in-place answer at every position (one output per question token, as the looped model reads it).

A finite-state problem (prefix parity, the shell game) is one state update per symbol: a recurrent
network can carry that state to any length, which is why it is the control every claim that "the
loop extrapolates" has to beat (Delétang et al. 2023, arXiv 2207.02098: LSTM 100% on parity at
41-500 after training on <= 40). With `delay` = d it writes position i's answer after reading
token i + d: the shell game writes a move's cup at its first letter, before the move's second
letter says which cups swap, which no reader without lookahead can answer. With `read_first` it
reads the whole question, then writes position i's answer i + 1 steps later (over PAD inputs), as
Delétang et al.'s recurrent networks answer: where every answer depends on the whole input
(sorting), no fixed lookahead is enough. Questions are right-padded (and PAD tokens appended), so
padding never carries a label. It runs in fp32 even under bf16 autocast: its recurrence is a
long chain of small matmuls where bf16 rounding compounds with length, and it is cheap anyway.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..tokenizer import PAD
from .blocks import linear
from .config import RecurrentConfig
from .losses import answer_loss
from .pretrained import PretrainedMixin

CELLS = {"lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3)}  # the module and its gates per update


class RecurrentSeq(PretrainedMixin, nn.Module):
    def __init__(self, cfg: RecurrentConfig, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        d = cfg.d_model
        self.token_embed = nn.Embedding(vocab_size, d)
        nn.init.trunc_normal_(self.token_embed.weight, std=1 / math.sqrt(d), a=-2 / math.sqrt(d), b=2 / math.sqrt(d))
        module, _ = CELLS[cfg.cell]
        self.rnn = module(d, d, num_layers=cfg.n_layers, batch_first=True)
        self.head = linear(d, vocab_size)

    def forward(self, question: torch.Tensor, question_len: torch.Tensor) -> torch.Tensor:
        """Logits [B, L, V] at every question position, each from the tokens up to `delay` past it,
        or (`read_first`) from the whole question and then one more step per position."""
        cfg = self.cfg
        B, L = question.shape
        if L > cfg.max_positions:
            raise ValueError(f"question of {L} tokens exceeds max_positions={cfg.max_positions}")
        read = nn.functional.pad(question, (0, L if cfg.read_first else cfg.delay), value=PAD)
        with torch.autocast(question.device.type, enabled=False):
            h, _ = self.rnn(self.token_embed(read).float())
            if cfg.read_first:  # row b answers position i after its own question and i + 1 PADs
                at = question_len[:, None] + torch.arange(L, device=question.device)[None]
                h = h.gather(1, at[..., None].expand(B, L, h.shape[-1]))
            else:
                h = h[:, cfg.delay:]
            return self.head(h)

    def loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The in-place answer's loss (PAD targets unscored); returns (loss, predicted tokens as wide as
        the answer: a batch's questions may be trimmed narrower than its split's answers)."""
        logits = self.forward(batch["question"], batch["question_len"])
        width = batch["answer"].shape[1]
        predicted = nn.functional.pad(logits.argmax(-1), (0, width - logits.shape[1]), value=PAD)
        return answer_loss(logits, batch["answer"][:, :logits.shape[1]], self.cfg.loss), predicted

    @torch.no_grad()
    def predict(self, batch: dict, steps: int | None = None) -> dict:
        """tokens [1, B, L]: one pass, the answer at every position. Labels are never read."""
        return {"tokens": self.forward(batch["question"], batch["question_len"]).argmax(-1)[None]}

    def answer_flops(self, question_len: int, steps: int = 1) -> int:
        """Matmul FLOPs of answering one question (2 per multiply-add): every layer's gates at
        every token, and the head at every token."""
        _, gates = CELLS[self.cfg.cell]
        d = self.cfg.d_model
        per_token = self.cfg.n_layers * 2 * gates * (d * d + d * d) + 2 * d * self.vocab_size
        read = 2 * question_len if self.cfg.read_first else question_len + self.cfg.delay
        return read * per_token

    def train_flops(self, question_len: int, answer_len: int | None = None) -> int:
        """Matmul FLOPs of one training example (forward + backward = 3x forward)."""
        return 3 * self.answer_flops(question_len)
