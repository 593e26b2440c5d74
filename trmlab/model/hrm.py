"""HRM, the Hierarchical Reasoning Model (Wang et al., 2025), over the same blocks.

TRM's predecessor and its main baseline. Everything but the recursion is the
reasoner's (embedding, registers, in-place or slot answers, heads, deep supervision,
evaluation); what differs:

  two networks   a low-level one, updated `n` times per high-level update with the
                 high state and the input injected (zL <- low(zL + zH + x)), and a
                 high-level one (zH <- high(zH + zL)), `T` high updates per step;
  1-step grad    gradients flow through the last low and the last high update only
                 (HRM's fixed-point argument); every other update runs without them;
  Q-learning     the halting head has two outputs, halt and continue; halt is trained
                 towards "the answer is right", continue towards the sigmoid of the
                 best Q value of the next step, which costs one more forward pass
                 (without gradients) per training step; a row halts when halt > continue.

The carry's (y, z) hold (zH, zL); the answer is read from zH.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import Context, stack_forward_flops
from .reasoner import RecursiveReasoner


class HRM(RecursiveReasoner):
    halt_outputs = 2  # (halt, continue)

    def build_networks(self) -> None:
        self.low = self.new_stack()
        self.high = self.new_stack()

    def hierarchical_step(self, x, z_high, z_low, ctx: Context):
        """T high-level updates of n low-level updates each; only the last of each with gradients."""
        n, T = self.cfg.n_latent, self.cfg.n_cycles
        with torch.no_grad():
            for h in range(T):
                for i in range(n):
                    if h < T - 1 or i < n - 1:
                        z_low = self.low(z_low + z_high + x, ctx)
                if h < T - 1:
                    z_high = self.high(z_high + z_low, ctx)
        z_low = self.low(z_low + z_high + x, ctx)
        z_high = self.high(z_high + z_low, ctx)
        return z_high, z_low

    def supervision_step(self, x, y, z, ctx: Context):
        """Returns (zH, zL, answer logits, q) with q [B, 2] = (halt, continue) logits, or in
        training [B, 4] with the continue targets for a last and a non-last step appended."""
        y, z = self.hierarchical_step(x, y, z, ctx)
        logits = self.head(y[:, self.answer_positions(y.shape[1])])
        q = self.q_head(y[:, 0]).float()
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():  # the Q-learning target: the next step's best value
                next_high, _ = self.hierarchical_step(x, y, z, ctx)
                q_next = self.q_head(next_high[:, 0]).float()
                targets = torch.stack([q_next[:, 0], q_next.max(-1).values], dim=-1).sigmoid()
            q = torch.cat([q, targets], dim=-1)
        return y, z, logits, q

    def halt_logit(self, q: torch.Tensor) -> torch.Tensor:
        return q[..., 0] - q[..., 1]

    def halt_loss(self, q, correct, last_step):
        """Halt BCE against "the answer is right" + continue BCE against its Q target."""
        bce = nn.functional.binary_cross_entropy_with_logits
        halt = bce(q[:, 0], correct.float())
        if q.shape[-1] == 4:
            last = torch.zeros_like(correct) if last_step is None else last_step.to(q.device)
            target = torch.where(last, q[:, 2], q[:, 3])
            halt = halt + bce(q[:, 1], target)
        return halt

    def step_flops(self, question_len: int, train: bool = True) -> int:
        """Per example and step: the no-grad updates once, the last low and high update 3x,
        and in training the Q target's extra forward pass."""
        cfg = self.cfg
        net = stack_forward_flops(cfg.n_layers, cfg.d_model, cfg.ffn_expansion, cfg.ffn_multiple,
                                  self.sequence_len(question_len), cfg.mixer)
        calls = cfg.net_calls_per_step
        head = self.head_flops(question_len)
        if not train:
            return calls * net + head
        return (calls - 2) * net + 3 * (2 * net + head) + calls * net + 2 * cfg.d_model * self.halt_outputs
