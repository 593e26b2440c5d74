"""The baseline: a decoder-only transformer LM built from the same blocks.

It reads `question <sep> answer <eos>` with causal attention, is trained with loss on
the answer tokens (and EOS) only, and answers by greedy decoding. Questions are
right-aligned (left padding) so that every answer starts in the same column and a
whole batch decodes in lockstep; padding is masked out of attention and skipped by
the positions, so it changes nothing. Decoding runs the prompt once and then one token
per step over a KV cache (`blocks.KVCache`).

positions="coupled" is position coupling (Cho et al. 2024, arXiv 2405.20671; McLeish et al.'s
Abacus is its cousin) for an answer aligned with its question (an in-place answer written after
it): the column that writes answer token j sits at question token j's position, so the token
it needs is at relative distance 0 at every length, and the answer restarts at 0 after SEP.

positions="random" is Ruoss et al. (2023), "Randomized Positional Encodings Boost Length
Generalization of Transformers": RoPE at a row's sorted random positions in
[0, max_positions) instead of 0, 1, ..., so a model trained on short sequences has seen
every position and every (ordered) distance it meets on long ones (see `positions`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..tokenizer import EOS, PAD, SEP
from .blocks import KVCache, Rotary, Stack, linear, make_context, stack_forward_flops, stream_dtype
from .config import TransformerConfig
from .losses import answer_loss
from .pretrained import PretrainedMixin

# Seeds the one fixed draw of random positions used at test time (`TransformerLM.positions`);
# any constant would do (this is Ruoss et al.'s arXiv number).
TEST_POSITIONS_SEED = 230516843


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
        self.rotary = None if cfg.positions == "none" else Rotary(d // cfg.n_heads, cfg.rope_theta)
        self.head = linear(d, vocab_size)

    def prompt(self, question: torch.Tensor, question_len: torch.Tensor) -> torch.Tensor:
        """[B, Lq + 1]: the question right-aligned (PAD on the left), then SEP."""
        B, Lq = question.shape
        shift = (Lq - question_len)[:, None]
        col = torch.arange(Lq, device=question.device)[None]
        src = (col - shift).clamp(min=0)
        aligned = torch.where(col >= shift, question.gather(1, src), PAD)
        return torch.cat([aligned, torch.full((B, 1), SEP, device=question.device)], dim=1)

    def positions(self, n_pad: torch.Tensor, width: int, count: torch.Tensor, fresh: bool = False,
                  question_len: torch.Tensor | None = None) -> torch.Tensor:
        """[B, width]: the position of every column of left-padded rows (n_pad [B] PAD columns
        first, which get 0). A row's tokens are numbered 0, 1, ... (rope, none).

        Coupled: the question's tokens 0, 1, ...; SEP and the answer's tokens again 0, 1, ...
        (the column that writes answer token j at question token j's position).

        Random positions: a row's first `count` [B] tokens (the longest it will be: question,
        SEP, answer) take, in order, `count` sorted distinct integers drawn uniformly from
        [0, max_positions); any column after them gets 0. `fresh` (training) draws every row
        anew from the global RNG (seeded by the trainer). Otherwise (test) the draw is one fixed
        order of [0, max_positions) from TEST_POSITIONS_SEED, whose first `count` values, sorted,
        are the row's: a uniform random draw as in training (Ruoss et al. randomise at test too),
        but repeatable, independent of the global RNG, and depending on nothing but the row's
        `count`: not on the padding, the rest of the batch or its order. Rows of one length share
        their positions, as a batch (all of one length) shares one draw in Ruoss et al.'s code."""
        col = torch.arange(width, device=n_pad.device)[None]
        index = col - n_pad[:, None]  # [B, width]: the row's token number, < 0 on padding
        if self.cfg.positions == "coupled":
            return torch.where(index < question_len[:, None], index, index - question_len[:, None]).clamp(min=0)
        if self.cfg.positions != "random":
            return index.clamp(min=0)
        M = self.cfg.max_positions
        if int(count.max()) > M:
            raise ValueError(f"positions='random' draws a position per token: a sequence of {int(count.max())} "
                             f"tokens (question, SEP, answer) needs max_positions >= {int(count.max())}, "
                             f"not {M}")
        if fresh:
            order = torch.rand(len(count), M, device=n_pad.device).argsort(-1)  # a random order per row
        else:
            g = torch.Generator().manual_seed(TEST_POSITIONS_SEED)
            order = torch.randperm(M, generator=g).to(n_pad.device).expand(len(count), M)
        # The first `count` values of a uniform random order are a uniform random subset: sorted,
        # the row's positions (then M, past its count).
        taken = torch.arange(M, device=n_pad.device) < count[:, None]
        drawn = torch.where(taken, order, M).sort(-1).values
        real = (index >= 0) & (index < count[:, None])
        return torch.where(real, drawn.gather(1, index.clamp(0, M - 1)), 0)

    def forward(self, tokens: torch.Tensor, n_pad: torch.Tensor, last: int,
                positions: torch.Tensor | None = None, cache: list[KVCache] | None = None) -> torch.Tensor:
        """Logits at the last `last` positions of left-padded `tokens` [B, L].

        cache: one `KVCache` per layer (decoding): `tokens` are the columns after the ones it
        holds; they attend to those and to themselves, and are added to it.
        positions: [B, >= T] the position of every column so far (T = cached columns + L), as
        `positions` gives; None = `positions(n_pad, T, T - n_pad)` (random: the test-time draw
        for exactly these T columns)."""
        B, L = tokens.shape
        start = 0 if cache is None else cache[0].length
        T = start + L
        longest = T - int(n_pad.min())
        if longest > self.cfg.max_positions:
            raise ValueError(f"sequence of {longest} tokens exceeds max_positions={self.cfg.max_positions}")
        keys = T if cache is None else cache[0].span(T)  # the cache hands out whole spans, the rest masked
        if positions is None:
            if self.cfg.positions == "coupled":
                raise ValueError("coupled positions depend on the question's length: pass `positions`")
            positions = self.positions(n_pad, keys, T - n_pad)
        col = torch.arange(keys, device=tokens.device)
        q_col = col[start:T, None]  # [L, 1]: the queries' columns
        # Causal; padding is no key, but a padding row may see itself, so no softmax row is empty.
        mask = (col <= q_col) & ((col >= n_pad[:, None, None]) | (col == q_col))  # [B, L, T]
        h = self.token_embed(tokens) * math.sqrt(self.cfg.d_model)
        ctx = make_context(self.rotary, positions[:, start:T], mask, self.cfg.window, stream_dtype(h),
                           key_positions=positions[:, :keys])
        h = self.net(h, ctx, cache)
        return self.head(h[:, -last:])

    def loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced answer loss; returns (loss, per-example exact match under teacher forcing).
        Random positions: a fresh draw per row (`positions`) for the longest the row may grow
        (question, SEP, answer_len), as at test, so its positions are drawn alike in both."""
        prompt = self.prompt(batch["question"], batch["question_len"])
        full = batch["answer"]  # [B, F]: answer tokens, EOS, PAD...
        # Trimmed to the batch's longest answer: the field is sized for the longest test answer
        # (an in-place answer at 16x the trained length), and the PAD columns change nothing.
        answer = full[:, :max(int((full != PAD).sum(1).max()), 1)]
        tokens = torch.cat([prompt, answer[:, :-1]], dim=1)
        n_pad = batch["question"].shape[1] - batch["question_len"]
        # Not the answer's own length: the row's first tokens must be spaced as at test, where the
        # answer's length is unknown (drawing for it put a trained-size question's positions 8x
        # further apart in training than at test, and dev stayed at 0.003).
        count = batch["question_len"] + 1 + self.cfg.answer_len
        positions = self.positions(n_pad, tokens.shape[1], count, fresh=True, question_len=batch["question_len"])
        logits = self.forward(tokens, n_pad, last=answer.shape[1], positions=positions)
        predicted = nn.functional.pad(logits.argmax(-1), (0, full.shape[1] - answer.shape[1]), value=PAD)
        return answer_loss(logits, answer, self.cfg.loss), predicted

    @torch.no_grad()
    def predict(self, batch: dict, steps: int | None = None) -> dict:
        """Greedy decoding of up to answer_len tokens: the prompt runs once, then each token one
        step over the KV cache (the tokens re-running the whole sequence per token gives). Returns
        tokens [1, B, F] and decode_steps (the forward passes run: decoding stops once every row
        has ended). Labels are never read.

        Random positions: every row's positions are fixed before decoding, for the longest it
        may grow (question, SEP, answer_len tokens): the test-time draw of `positions`, so the
        cache stays consistent and a prediction depends only on the row itself."""
        cfg = self.cfg
        question_len = batch["question_len"]
        prompt = self.prompt(batch["question"], question_len)
        n_pad = batch["question"].shape[1] - question_len
        longest = int(question_len.max()) + 1 + cfg.answer_len
        if longest > cfg.max_positions:
            raise ValueError(f"a question of {int(question_len.max())} tokens, SEP and answer_len={cfg.answer_len} "
                             f"answer tokens need {longest} positions: more than max_positions={cfg.max_positions}")
        width = prompt.shape[1] + cfg.answer_len - 1  # every column fed (the last token written is not)
        positions = self.positions(n_pad, width, question_len + 1 + cfg.answer_len, question_len=question_len)
        cache = [KVCache(width) for _ in self.net.blocks]
        logits = self.forward(prompt, n_pad, 1, positions, cache)[:, -1]
        out = []
        done = torch.zeros(prompt.shape[0], dtype=torch.bool, device=prompt.device)
        while True:
            nxt = torch.where(done, PAD, logits.argmax(-1))
            done |= nxt == EOS
            out.append(nxt)
            if len(out) == cfg.answer_len or bool(done.all()):
                break
            logits = self.forward(nxt[:, None], n_pad, 1, positions, cache)[:, -1]
        steps = len(out)
        out += [torch.full_like(out[0], PAD)] * (cfg.answer_len - len(out))
        return {"tokens": torch.stack(out, dim=1)[None], "decode_steps": torch.tensor(steps)}

    def answer_flops(self, question_len: int, generated: int) -> int:
        """Matmul FLOPs (2 per multiply-add) of answering one question of `question_len` tokens
        by greedy decoding with the KV cache, writing `generated` tokens (its answer and the EOS:
        the row's decode steps; 0 counts as 1, the least an answer costs).

        The prompt (question, SEP) runs once, causally, and writes the first token; each later
        token is fed back as one query: its projections and MLP, attention over the keys so far
        (itself included; at most window + 1 with a window), and the head. Together: one causal
        forward over question_len + generated tokens, with the head at `generated` of them."""
        cfg = self.cfg
        written = max(generated, 1)
        n = question_len + written  # tokens through the network: question, SEP, all but the last written
        reach = cfg.window + 1 if cfg.window else n  # most keys a query sees
        keys = n * (n + 1) // 2 if n <= reach else reach * (reach + 1) // 2 + (n - reach) * reach
        dense = stack_forward_flops(cfg.n_layers, cfg.d_model, cfg.ffn_expansion, cfg.ffn_multiple, n, attended=0)
        attention = cfg.n_layers * 2 * 2 * keys * cfg.d_model  # q k^T and the weighted sum of v
        return dense + attention + written * 2 * cfg.d_model * self.vocab_size

    def train_flops(self, question_len: int, answer_len: int | None = None) -> int:
        """Matmul FLOPs of one training example (forward + backward = 3x forward), its answer (EOS
        included) `answer_len` tokens wide (default: the whole field)."""
        cfg = self.cfg
        answer = answer_len or cfg.answer_len
        L = question_len + answer  # question, SEP, answer tokens (EOS is only a target)
        net = stack_forward_flops(cfg.n_layers, cfg.d_model, cfg.ffn_expansion, cfg.ffn_multiple,
                                  L, attended=(L + 1) // 2)
        head = 2 * answer * cfg.d_model * self.vocab_size
        return 3 * (net + head)
