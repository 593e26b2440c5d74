"""The recursive reasoner: TRM's recursion over a text question and an answer field.

One sequence per example, attended bidirectionally:

    [ R registers | question tokens | F answer slots ]      (positions)

or, for grid puzzles (`answer_len=0`), `[ R registers | board ]` with the answer read in
place at the board's cells, as in TRM (`grid_2d`: positions are each cell's (row, column),
the window is 2-D, and registers read the board without being read by it). `x` embeds it;
every answer slot gets the same learned placeholder, so the answer never enters the input.
Positions (RoPE) are given per row and skip the question's padding; in memory the answer slots come right after the registers and the padded
question last, so a batch can be trimmed to its longest question by slicing. Two states span the sequence: the answer state `y` and the
latent `z`. One latent recursion is `n` updates `z <- net(x + y + z)` and one
`y <- net(y + z)`; a supervision step runs `T` recursions, the first `T-1` without
gradients, then reads the answer from `y` at the answer slots and a halting logit
from `y` at register 0. Two study knobs: `feedback="tokens"` carries only the decoded
answer to the next supervision step, `untied=True` gives every call its own network
(the unrolled baseline). Deep supervision (training) lives in
`trmlab/training/objectives.py`; this file is the model.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from torch.utils.checkpoint import checkpoint

from .blocks import Context, Rotary, Stack, linear, make_context, rms_norm, stack_forward_flops, stream_dtype
from .config import ReasonerConfig
from .losses import answer_loss, exactly_right
from .recursion import answer_entropy, state_residual
from .pretrained import PretrainedMixin


def board_positions(question_len: torch.Tensor, width: int, n_registers: int) -> torch.Tensor:
    """[B, R + width, 2]: each cell's (row, column) on its row's square board, side = sqrt(question
    length) (`model.grid_2d`: the row-major index would change meaning with the side); registers
    and padding at (0, 0), where rotary turns nothing."""
    side = question_len.double().sqrt().round().long()
    bad = (side * side != question_len).nonzero()
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"model.grid_2d reads square boards: question {row} of the batch has "
                         f"{int(question_len[row])} tokens, not side x side")
    col = torch.arange(width, device=question_len.device)[None]
    side = side.clamp(min=1)[:, None]
    cells = torch.stack([col // side, col % side], dim=-1)  # [B, width, 2]
    cells = torch.where((col < question_len[:, None])[..., None], cells, 0)
    return torch.cat([cells.new_zeros(len(cells), n_registers, 2), cells], dim=1)


class RecursiveReasoner(PretrainedMixin, nn.Module):
    def __init__(self, cfg: ReasonerConfig, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        d = cfg.d_model
        self.token_embed = nn.Embedding(vocab_size, d)
        self.registers = nn.Parameter(torch.empty(cfg.n_registers, d))
        self.answer_slot = nn.Parameter(torch.empty(cfg.answer_len if cfg.distinct_slots else 1, d))
        for p in (self.token_embed.weight, self.registers, self.answer_slot):
            nn.init.trunc_normal_(p, std=1 / math.sqrt(d), a=-2 / math.sqrt(d), b=2 / math.sqrt(d))
        if cfg.puzzle_ids:  # TRM starts every puzzle's embedding at zero
            self.puzzle_embed = nn.Embedding(cfg.puzzle_ids, d)
            nn.init.zeros_(self.puzzle_embed.weight)
        self.build_networks()
        axes = 2 if cfg.grid_2d else 1  # a board's (row, column), or a token's index
        self.rotary = Rotary(d // cfg.n_heads, cfg.rope_theta, axes) if cfg.positions == "rope" else None
        self.head = linear(d, vocab_size)  # not tied to the input embedding (tying hurt TRM)
        self.q_head = nn.Linear(d, self.halt_outputs)
        nn.init.zeros_(self.q_head.weight)  # start far from halting: bias -5
        nn.init.constant_(self.q_head.bias, -5.0)
        # Fixed (not learned) starting states, broadcast to every position.
        self.register_buffer("y_init", nn.init.trunc_normal_(torch.empty(d), std=1.0, a=-2, b=2))
        self.register_buffer("z_init", nn.init.trunc_normal_(torch.empty(d), std=1.0, a=-2, b=2))

    halt_outputs = 1  # the halting head's outputs (HRM: halt and continue)

    def new_stack(self) -> Stack:
        cfg = self.cfg
        seq_len = cfg.n_registers + cfg.question_len + cfg.answer_len
        return Stack(cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.ffn_expansion, cfg.ffn_multiple, cfg.mixer, seq_len)

    def build_networks(self) -> None:
        if self.cfg.untied:  # the unrolled baseline: a fresh network for every call of a supervision step
            self.nets = nn.ModuleList(self.new_stack() for _ in range(self.cfg.net_calls_per_step))
        else:  # TRM: one network, applied again and again
            self.net = self.new_stack()
        if self.cfg.injection == "concat":
            self.adapter = linear(2 * self.cfg.d_model, self.cfg.d_model)

    # ----- input -----
    def embed(self, question: torch.Tensor, question_len: torch.Tensor,
              puzzle: torch.Tensor | None = None) -> tuple[torch.Tensor, Context]:
        """x [B, R + F + Lq, d] and the attention context for a right-padded question batch
        (`puzzle`: [B] identifiers, for a model with per-puzzle embeddings)."""
        cfg = self.cfg
        B, Lq = question.shape
        if cfg.mixer == "mlp" and Lq != cfg.question_len:
            raise ValueError(f"mlp mixer needs questions padded to {cfg.question_len}, got {Lq}")
        R, Fa = cfg.n_registers, cfg.answer_len
        if R + int(question_len.max()) + Fa > cfg.max_positions:
            raise ValueError(f"question of {int(question_len.max())} tokens does not fit "
                             f"max_positions={cfg.max_positions}")
        registers = self.registers.expand(B, R, -1)
        if cfg.puzzle_ids:
            if puzzle is None:
                raise ValueError("this model has per-puzzle embeddings: the batch needs 'puzzle' identifiers")
            registers = torch.cat([registers[:, :1] + self.puzzle_embed(puzzle)[:, None], registers[:, 1:]], 1)
        x = torch.cat([registers, self.answer_slot.expand(B, Fa, -1),
                       self.token_embed(question)], dim=1) * math.sqrt(cfg.d_model)
        dev = question.device
        col = torch.arange(Lq, device=dev)
        valid = self.valid_positions(question_len, R + Fa + Lq)
        if cfg.grid_2d:  # registers read every cell, no cell reads a register: a cell's reach is its window's
            reader = torch.arange(R + Lq, device=dev) < R
            allowed = (reader[:, None] | ~reader[None, :]) & valid[:, None, :]
            return x, make_context(self.rotary, board_positions(question_len, Lq, R), allowed, cfg.window,
                                   stream_dtype(x), readers=R)
        q_valid = valid[:, R + Fa:]  # [B, Lq]
        # Positions skip the padding, so the padded width never changes a relative distance.
        r_pos = torch.arange(R, device=dev)[None].expand(B, R)
        a_pos = R + question_len[:, None] + torch.arange(Fa, device=dev)[None]
        q_pos = torch.where(q_valid, R + col[None], 0)
        positions = torch.cat([r_pos, a_pos, q_pos], dim=1)
        keys = None if bool(q_valid.all()) else valid[:, None, :]
        return x, make_context(self.rotary, positions, keys, cfg.window, stream_dtype(x))

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed starting (y, z); without recall the question enters here, once."""
        y, z = self.y_init.expand_as(x).to(x.dtype), self.z_init.expand_as(x).to(x.dtype)
        return (y, z) if self.cfg.recall else (y, z + x)

    def loop_counts(self, question_len: torch.Tensor) -> torch.Tensor | None:
        """[B]: the iterations each row runs under the size rule T = ceil(loops_per_token *
        question tokens) (read from the input, never the label); None without the rule."""
        if not self.cfg.loops_per_token:
            return None
        return torch.ceil(question_len.double() * self.cfg.loops_per_token).long().clamp(min=1)

    # ----- recursion -----
    def network(self, call: int) -> Stack:
        """The network for the `call`-th application within a cycle (always the same one unless untied)."""
        return self.nets[call] if self.cfg.untied else self.net

    def apply(self, call: int, h, ctx: Context):
        if self.cfg.checkpointing and torch.is_grad_enabled():  # recompute in backward: less memory
            return checkpoint(self.network(call), h, ctx, use_reentrant=False)
        return self.network(call)(h, ctx)

    def inject(self, x, y, z):
        """The latent update's input: the question x with the state (TRM: summed)."""
        if self.cfg.injection == "concat":  # Huginn's: concatenate, then a 2d -> d adapter
            return self.adapter(torch.cat([x, y + z], dim=-1))
        h = x + y + z if self.cfg.recall else y + z
        return rms_norm(h) if self.cfg.injection == "norm" else h

    def latent_recursion(self, x, y, z, ctx: Context):
        for i in range(self.cfg.n_latent):
            z = self.apply(i, self.inject(x, y, z), ctx)
        y = self.apply(self.cfg.n_latent, y + z, ctx)
        return y, z

    def iteration(self, x, y, z, ctx: Context, grad_cycles: int | None = None):
        """One iteration (a supervision step's forward): T recursions, gradients through the
        last `grad_cycles` of them (default model.grad_cycles; 0 = all)."""
        T = self.cfg.n_cycles
        k = (self.cfg.grad_cycles if grad_cycles is None else grad_cycles) or T
        with torch.no_grad():
            for _ in range(T - k):
                y, z = self.latent_recursion(x, y, z, ctx)
        for _ in range(k):
            y, z = self.latent_recursion(x, y, z, ctx)
        return y, z

    def readout(self, y):
        """Answer logits at the answer positions and the halting logit at register 0."""
        return self.head(y[:, self.answer_positions(y.shape[1])]), self.q_head(y[:, 0]).squeeze(-1)

    def supervision_step(self, x, y, z, ctx: Context, grad_cycles: int | None = None):
        """One iteration and its readout; returns y, z, answer logits, halt logit."""
        y, z = self.iteration(x, y, z, ctx, grad_cycles)
        logits, q = self.readout(y)
        if self.cfg.feedback == "tokens":
            y = self.token_feedback(y, logits)
        return y, z, logits, q

    def answer_positions(self, seq_len: int) -> slice:
        """Where the answer is read: the F answer slots, or (in place) every question position."""
        R, Fa = self.cfg.n_registers, self.cfg.answer_len
        return slice(R, R + Fa) if Fa else slice(R, seq_len)

    def halt_logit(self, q: torch.Tensor) -> torch.Tensor:
        """[B]: > 0 means "halt"; `q` is what supervision_step returned."""
        return q

    def token_feedback(self, y: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The feedback ablation: the next step sees only the decoded answer, re-embedded in
        the answer slots (the initial state elsewhere), instead of the continuous y."""
        with torch.no_grad():
            fed = self.y_init.expand_as(y).to(y.dtype).clone()
            decoded = self.token_embed(logits.argmax(-1)) * math.sqrt(self.cfg.d_model)
            fed[:, self.answer_positions(y.shape[1])] = decoded.to(y.dtype)
        return fed

    def step_loss(self, logits, q, targets, last_step=None):
        """Answer loss + weighted halting loss; `q` is what supervision_step returned and
        `last_step` ([B] bool) says which rows are at their last supervision step."""
        correct = exactly_right(logits.argmax(-1), targets)
        halt = self.halt_loss(q, correct, last_step)
        return answer_loss(logits, targets, self.cfg.loss) + self.cfg.halt_loss_weight * halt, correct

    def halt_loss(self, q, correct, last_step):
        """BCE of the halting logit against "the whole answer is right"."""
        return nn.functional.binary_cross_entropy_with_logits(q.float(), correct.float())

    # ----- inference -----
    @torch.no_grad()
    def predict(self, batch: dict, steps: int | None = None) -> dict:
        """Run `steps` iterations (default: the trained N_sup, or the longest row's count under the
        size rule) from the initial state, whatever the scheme trained; the answer tokens, halt
        logits and state residual after each (and `rule_step` [B], a size-rule model's own count).

        Returns tokens [S, B, F], halt_logits [S, B], residuals [S, B] (|s_new - s| / |s_new|
        over the state (y, z) at the unpadded positions: near 0 at a fixed point) and entropy
        [S, B] (of the answer distribution, for Fan et al.'s stop at the most confident step).
        Labels are never read.
        """
        rule = self.loop_counts(batch["question_len"])
        steps = steps or (int(rule.max()) if rule is not None and len(rule) else self.cfg.trained_steps)
        x, ctx = self.embed(batch["question"], batch["question_len"], batch.get("puzzle"))
        y, z = self.initial_state(x)
        valid = self.valid_positions(batch["question_len"], x.shape[1])
        tokens, halts, residuals, entropies = [], [], [], []
        for _ in range(steps):
            y_new, z_new, logits, q = self.supervision_step(x, y, z, ctx)
            residuals.append(state_residual((y, z), (y_new, z_new), valid))
            y, z = y_new, z_new
            tokens.append(logits.argmax(-1))
            halts.append(self.halt_logit(q).float())
            entropies.append(answer_entropy(logits))
        out = {"tokens": torch.stack(tokens), "halt_logits": torch.stack(halts),
               "residuals": torch.stack(residuals), "entropy": torch.stack(entropies)}
        if rule is not None:  # where the size rule reads each row's answer
            out["rule_step"] = rule
        return out

    def valid_positions(self, question_len: torch.Tensor, seq_len: int) -> torch.Tensor:
        """[B, L] bool: registers, answer slots and the question's real tokens (not its padding)."""
        fixed = self.cfg.n_registers + self.cfg.answer_len
        col = torch.arange(seq_len - fixed, device=question_len.device)
        head = torch.ones(len(question_len), fixed, dtype=torch.bool, device=question_len.device)
        return torch.cat([head, col[None] < question_len[:, None]], dim=1)

    # ----- accounting -----
    def sequence_len(self, question_len: int) -> int:
        return self.cfg.n_registers + self.cfg.answer_len + question_len

    def step_flops(self, question_len: int, train: bool = True, grad_cycles: int | None = None) -> int:
        """Matmul FLOPs of one supervision step (iteration) on one example (backward = 2x forward)."""
        cfg = self.cfg
        L = self.sequence_len(question_len)
        net = stack_forward_flops(cfg.n_layers, cfg.d_model, cfg.ffn_expansion, cfg.ffn_multiple,
                                  L, cfg.mixer, self.keys_per_query(question_len))
        recursion = (cfg.n_latent + 1) * net
        if cfg.injection == "concat":  # the 2d -> d adapter before every latent update
            recursion += cfg.n_latent * 2 * L * 2 * cfg.d_model * cfg.d_model
        T = cfg.n_cycles
        k = ((cfg.grad_cycles if grad_cycles is None else grad_cycles) or T) if train else 0
        return (T - k) * recursion + (3 if train else 1) * (k * recursion + self.head_flops(question_len))

    def keys_per_query(self, question_len: int) -> int:
        """The mean number of keys a query sees, the window's edges ignored: every key, 2w + 1, or on a
        board (2w + 1)^2 for a cell and every key for a register."""
        cfg, L = self.cfg, self.sequence_len(question_len)
        if not cfg.window:
            return L
        if not cfg.grid_2d:
            return min(L, 2 * cfg.window + 1)
        cell_keys = min(math.isqrt(question_len), 2 * cfg.window + 1) ** 2
        return round((cfg.n_registers * L + question_len * cell_keys) / L)

    def answer_flops(self, question_len: int, steps: int) -> int:
        """Matmul FLOPs of answering one question after `steps` iterations (supervision steps)."""
        return steps * self.step_flops(question_len, train=False)

    def head_flops(self, question_len: int) -> int:
        answer = self.cfg.answer_len or question_len
        return 2 * answer * self.cfg.d_model * self.vocab_size + 2 * self.cfg.d_model * self.halt_outputs

