"""The baseline: a decoder-only transformer LM built from the same blocks.

It reads `question <sep> answer <eos>` with causal attention, is trained with loss on
the answer tokens (and EOS) only, and answers by greedy decoding. Questions are
right-aligned (left padding) so that every answer starts in the same column and a
whole batch decodes in lockstep; padding is masked out of attention and skipped by
the positions, so it changes nothing.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..tokenizer import EOS, PAD, SEP
from .blocks import Rotary, Stack, linear, make_context, stack_forward_flops, stream_dtype
from .config import TransformerConfig
from .losses import answer_loss
from .pretrained import PretrainedMixin


class TransformerLM(PretrainedMixin, nn.Module):
    def __init__(self, cfg: TransformerConfig, vocab_size: int):
        super().__init__()
        if cfg.mixer != "attention":
            raise ValueError("the transformer LM needs the 'attention' mixer")
        self.cfg = cfg
        self.vocab_size = vocab_size
        d = cfg.d_model
        self.token_embed = nn.Embedding(vocab_size, d)
        nn.init.trunc_normal_(self.token_embed.weight, std=1 / math.sqrt(d),
                              a=-2 / math.sqrt(d), b=2 / math.sqrt(d))
        self.net = Stack(cfg.n_layers, d, cfg.n_heads, cfg.ffn_expansion, cfg.ffn_multiple)
        self.rotary = Rotary(d // cfg.n_heads, cfg.rope_theta) if cfg.positions == "rope" else None
        self.head = linear(d, vocab_size)

    def prompt(self, question: torch.Tensor, question_len: torch.Tensor) -> torch.Tensor:
        """[B, Lq + 1]: the question right-aligned (PAD on the left), then SEP."""
        B, Lq = question.shape
        shift = (Lq - question_len)[:, None]
        col = torch.arange(Lq, device=question.device)[None]
        src = (col - shift).clamp(min=0)
        aligned = torch.where(col >= shift, question.gather(1, src), PAD)
        return torch.cat([aligned, torch.full((B, 1), SEP, device=question.device)], dim=1)

    def forward(self, tokens: torch.Tensor, n_pad: torch.Tensor, last: int) -> torch.Tensor:
        """Logits at the last `last` positions of left-padded `tokens` [B, L]."""
        B, L = tokens.shape
        if L > self.cfg.max_positions:
            raise ValueError(f"sequence of {L} tokens exceeds max_positions={self.cfg.max_positions}")
        col = torch.arange(L, device=tokens.device)[None]
        positions = (col - n_pad[:, None]).clamp(min=0)
        key_ok = col >= n_pad[:, None]  # [B, L]
        causal = torch.ones(L, L, dtype=torch.bool, device=tokens.device).tril()
        # Padding rows may see themselves, so no softmax row is empty.
        mask = causal & (key_ok[:, None, :] | torch.eye(L, dtype=torch.bool, device=tokens.device))
        h = self.token_embed(tokens) * math.sqrt(self.cfg.d_model)
        h = self.net(h, make_context(self.rotary, positions, mask, self.cfg.window, stream_dtype(h)))
        return self.head(h[:, -last:])

    def loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced answer loss; returns (loss, per-example exact match under teacher forcing)."""
        prompt = self.prompt(batch["question"], batch["question_len"])
        answer = batch["answer"]  # [B, F]: answer tokens, EOS, PAD...
        tokens = torch.cat([prompt, answer[:, :-1]], dim=1)
        n_pad = batch["question"].shape[1] - batch["question_len"]
        logits = self.forward(tokens, n_pad, last=answer.shape[1])
        return answer_loss(logits, answer, self.cfg.loss), logits.argmax(-1)

    @torch.no_grad()
    def predict(self, batch: dict, steps: int | None = None) -> dict:
        """Greedy decoding of up to answer_len tokens; tokens [1, B, F] and decode_steps (the
        forward passes run: decoding stops once every row has ended). Labels are never read."""
        tokens = self.prompt(batch["question"], batch["question_len"])
        n_pad = batch["question"].shape[1] - batch["question_len"]
        out = []
        done = torch.zeros(tokens.shape[0], dtype=torch.bool, device=tokens.device)
        for _ in range(self.cfg.answer_len):
            nxt = self.forward(tokens, n_pad, last=1)[:, -1].argmax(-1)
            nxt = torch.where(done, PAD, nxt)
            done |= nxt == EOS
            out.append(nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            if bool(done.all()):
                break
        steps = len(out)
        out += [torch.full_like(out[0], PAD)] * (self.cfg.answer_len - len(out))
        return {"tokens": torch.stack(out, dim=1)[None], "decode_steps": torch.tensor(steps)}

    def train_flops(self, question_len: int) -> int:
        """Matmul FLOPs of one training example (forward + backward = 3x forward)."""
        cfg = self.cfg
        L = question_len + cfg.answer_len  # question, SEP, answer tokens (EOS is only a target)
        net = stack_forward_flops(cfg.n_layers, cfg.d_model, cfg.ffn_expansion, cfg.ffn_multiple,
                                  L, attended=(L + 1) // 2)
        head = 2 * cfg.answer_len * cfg.d_model * self.vocab_size
        return 3 * (net + head)
