"""Building blocks shared by every model: one implementation of each idea.

RMSNorm, rotary position embeddings, attention (PyTorch's fused
`scaled_dot_product_attention`, or written out where that is faster: bf16 on CPU),
the SwiGLU MLP, TRM's token-mixing MLP, and a post-norm block that combines them.
The recursive reasoner, the transformer LM and the ablations are all stacks of `Block`.
Under autocast the residual stream between blocks is bf16 (see `stream_dtype`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def round_up(x: float, multiple: int) -> int:
    return int(math.ceil(x / multiple) * multiple)


def swiglu_hidden(d: int, expansion: float, multiple: int) -> int:
    """Inner width of a SwiGLU MLP: 2/3 of expansion * d (the gate costs a third matrix)."""
    return round_up(expansion * d * 2 / 3, multiple)


def init_linear(layer: nn.Linear) -> None:
    """Truncated LeCun-normal (std 1/sqrt(fan_in), cut at 2 std), as in TRM."""
    std = 1.0 / math.sqrt(layer.in_features)
    nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)


def linear(d_in: int, d_out: int) -> nn.Linear:
    layer = nn.Linear(d_in, d_out, bias=False)
    init_linear(layer)
    return layer


def rms_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm without a learned gain, computed in fp32 (TRM's post-norm)."""
    return _RMSNorm.apply(x, eps)


class _RMSNorm(torch.autograd.Function):
    """x * rsqrt(mean(x^2) + eps) in (at least) fp32, cast back to x's dtype.

    The same arithmetic as the plain expression, with a hand-written backward: autograd
    records six ops and runs about a dozen full-size kernels backward; this runs four
    forward and five backward. (Mixed-dtype elementwise ops copy their bf16 operand to
    fp32 first on CPU, so x is upcast once, explicitly.)"""

    @staticmethod
    def forward(ctx, x: torch.Tensor, eps: float) -> torch.Tensor:
        x32 = x.to(torch.promote_types(x.dtype, torch.float32))
        ms = torch.linalg.vector_norm(x32, dim=-1, keepdim=True).square() / x.shape[-1]
        r = torch.rsqrt(ms + eps)  # [..., 1]: cheap
        ctx.save_for_backward(x32, r)
        return (x32 * r).to(x.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        # d/dx_j of x_j * r, r = (mean(x^2) + eps)^(-1/2):  g_j * r - x_j * r^3 * mean(g * x)
        x32, r = ctx.saved_tensors
        g32 = g.to(x32.dtype)
        gx = (g32 * x32).mean(-1, keepdim=True)
        return torch.addcmul(g32 * r, x32, -(r ** 3) * gx).to(g.dtype), None


def stream_dtype(t: torch.Tensor) -> torch.dtype:
    """The dtype to keep the residual stream in: autocast's (bf16) where autocast is on,
    as TRM's reference does, so no block re-casts its input for every matmul and
    elementwise work moves half the bytes; else t's own. Norm statistics stay fp32."""
    if torch.is_autocast_enabled(t.device.type):
        return torch.get_autocast_dtype(t.device.type)
    return t.dtype


@dataclass
class Context:
    """What every block needs besides the hidden states; built once per forward.

    rope:  (cos, signed sin), each [B, L, 1, 1, head_dim] (see `Rotary`), or None for no
           positional encoding (`positions="none"`)
    bias:  additive attention mask broadcastable to [B, heads, L, T] (see `attention_bias`),
           or None for full bidirectional attention; T = L, or with a `KVCache` the keys
           cached before these L queries and theirs
    """

    rope: tuple[torch.Tensor, torch.Tensor] | None
    bias: torch.Tensor | None = None


def attention_bias(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A boolean mask (True = may attend) as the additive mask attention takes: 0 or -inf.

    Adding it is exact, and it is built once per forward, not once per layer and call.
    On CPU in bf16 one add is much cheaper than `masked_fill` with a broadcast boolean mask
    (B64 H4 L124 causal, 2 threads: attention 18.3 -> 13.1 ms forward+backward, 9.9 -> 4.5 ms
    forward); SDPA (fp32, CUDA) takes it as its float `attn_mask`."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed, float("-inf"))


def coordinates(positions: torch.Tensor) -> torch.Tensor:
    """Positions as [B, L, axes]: a 1-D position [B, L] is one coordinate; a board's (row, column)
    [B, L, 2] (`model.grid_2d`) two. The window and rotary treat every axis alike."""
    return positions[..., None] if positions.dim() == 2 else positions


def within_window(positions: torch.Tensor, window: int, keys: torch.Tensor | None = None) -> torch.Tensor:
    """[B, L, T] bool: query i may see key j when |pos_i - pos_j| <= window on every axis
    (`model.window`; on a board: within `window` rows and `window` columns); the keys' positions
    are the queries' own unless given (decoding with a `KVCache`).

    Local attention makes a layer's reach a fixed number of positions, whatever the length:
    the rule a recursive model learns on short inputs is then the same on long ones, and only
    more iterations carry information further (the FIR/IIR point of the design notes)."""
    keys = positions if keys is None else keys
    allowed = None
    for p, k in zip(coordinates(positions).unbind(-1), coordinates(keys).unbind(-1)):
        near = (p[:, :, None] - k[:, None, :]).abs() <= window  # axis by axis: one [B, L, T] difference at a time
        allowed = near if allowed is None else allowed & near
    return allowed


def make_context(rotary: "Rotary | None", positions: torch.Tensor, allowed: torch.Tensor | None,
                 window: int, dtype: torch.dtype, key_positions: torch.Tensor | None = None,
                 readers: int = 0) -> Context:
    """The attention context of one forward: rotary angles at `positions` ([B, L], or [B, L, 2] on a
    board; none without a `rotary`), and the mask `allowed` (bool, broadcastable to [B, L, T];
    None = all) narrowed to the local `window` when there is one. `key_positions`: the keys'
    positions where they are not the queries' (decoding with a `KVCache`: every column so far).
    The first `readers` queries (a board's registers) are not narrowed: they read every allowed key."""
    if window:
        local = within_window(positions, window, key_positions)
        local[:, :readers] = True
        allowed = local if allowed is None else allowed & local
    bias = None if allowed is None else attention_bias(allowed[:, None], dtype)
    return Context(None if rotary is None else rotary(positions), bias)


class Rotary(nn.Module):
    """Rotary embeddings for explicit per-row positions: [B, L], or [B, L, axes] coordinates.

    Positions are passed in (not implied by the column index) so that a question
    padded to any length gets exactly the same relative positions. With several axes
    (a board's row and column, `model.grid_2d`) each axis rotates its own share of the
    head's pairs, with the frequencies a head of that share would use (axial rotary):
    a score then depends on (Δrow, Δcol), never on the board's width.
    """

    def __init__(self, head_dim: int, theta: float = 10000.0, axes: int = 1):
        super().__init__()
        if head_dim % (2 * axes):
            raise ValueError(f"rotary over {axes} axes needs a head size that is a multiple of {2 * axes}, "
                             f"not {head_dim}")
        share = head_dim // axes  # the head dimensions each axis rotates
        inv_freq = 1.0 / theta ** (torch.arange(0, share, 2, dtype=torch.float32) / share)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, signed sin), laid out [B, L, 1, 1, hd] to broadcast over (q/k, heads) of the
        fused projection. The sign of rotate-half lives in the sin: [-sin, +sin]."""
        angles = (coordinates(positions).float()[..., None] * self.inv_freq).flatten(-2)  # [B, L, hd/2]
        cos, sin = angles.cos(), angles.sin()
        return (torch.cat([cos, cos], dim=-1)[:, :, None, None],
                torch.cat([-sin, sin], dim=-1)[:, :, None, None])


def apply_rotary(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin, with rotate_half(x) = [-x2, x1] = roll(x, hd/2) * [-1, +1]
    (the sign is in the sin): three elementwise kernels instead of six, same fp32 arithmetic."""
    cos, signed_sin = rope
    x32 = x.to(cos.dtype)  # once, explicitly: a mixed-dtype op would copy x for each use
    return torch.addcmul(x32 * cos, x32.roll(x.shape[-1] // 2, dims=-1), signed_sin).to(x.dtype)


class KVCache:
    """One attention layer's keys (after rotary) and values so far, for incremental decoding:
    [B, heads, capacity, head_dim], allocated (zeros) at the first `extend` and filled left to right
    (no copy of the past per step, as concatenation would make).

    Keys are handed out in spans of BUCKET columns (`span`), the unfilled ones zero and masked by the
    caller: a key length that changes every step makes oneDNN build and cache a bf16 matmul for
    each one, and decoding 1,024 tokens in batches of 250 grew a process past 20 GB."""

    BUCKET = 64

    def __init__(self, capacity: int):
        self.capacity, self.length = capacity, 0
        self.k = self.v = None

    def span(self, end: int) -> int:
        """How many key columns attention sees once `end` are filled: `end` rounded up to BUCKET."""
        return min(-(-end // self.BUCKET) * self.BUCKET, self.capacity)

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append [B, heads, L, head_dim] keys and values; return the first `span` columns."""
        if self.k is None:
            self.k = k.new_zeros(*k.shape[:2], self.capacity, k.shape[3])
            self.v = v.new_zeros(*v.shape[:2], self.capacity, v.shape[3])
        end = self.length + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"KV cache of {self.capacity} positions cannot take {end}")
        self.k[:, :, self.length:end], self.v[:, :, self.length:end] = k, v
        self.length = end
        return self.k[:, :, :self.span(end)], self.v[:, :, :self.span(end)]


class Attention(nn.Module):
    """Multi-head self-attention with a fused QKV projection and RoPE."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        if d % n_heads or (d // n_heads) % 2:
            raise ValueError(f"d_model={d} must split into {n_heads} heads of even size")
        self.n_heads = n_heads
        self.qkv = linear(d, 3 * d)
        self.out = linear(d, d)

    def forward(self, h: torch.Tensor, ctx: Context, cache: KVCache | None = None) -> torch.Tensor:
        """With a `cache`, h's queries attend to the cached keys and to their own, which are
        then cached (`ctx`: rotary angles at h's positions, a mask over every key)."""
        B, L, D = h.shape
        qkv = self.qkv(h).view(B, L, 3, self.n_heads, D // self.n_heads)
        # Rotate q and k together (one pass over both), then to [B, heads, L, head_dim].
        qk = qkv[:, :, :2] if ctx.rope is None else apply_rotary(qkv[:, :, :2], ctx.rope)
        q, k = qk.permute(2, 0, 3, 1, 4)
        v = qkv[:, :, 2].transpose(1, 2)
        if cache is not None:
            k, v = cache.extend(k, v)
        o = attention(q, k, v, ctx.bias)
        return self.out(o.transpose(1, 2).reshape(B, L, D))


def attention(q, k, v, bias: torch.Tensor | None) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd) + bias) v, with `bias` from `attention_bias` (or None).

    bf16 on CPU: written out (bf16 matmuls, softmax accumulated in fp32 by the kernel).
    At these short lengths (B64, L81-128, head 32, torch 2.13, 1 thread) that is 2.3x faster
    with gradients and 1.6x without than SDPA's best CPU kernel: SDPA's math kernel upcasts
    to fp32 and scans for all-masked rows; its CPU flash kernel's backward is 2x slower still.
    fp32 on CPU, and CUDA: SDPA's own choice (flash/efficient kernels) is the fastest.
    Every mask here leaves each query at least one key, so no softmax row is empty."""
    if q.device.type != "cpu" or q.dtype != torch.bfloat16:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
    if bias is not None:
        scores = scores + bias
    return scores.softmax(-1) @ v


class SwiGLU(nn.Module):
    """SwiGLU MLP over the last axis: down(silu(gate) * up)."""

    def __init__(self, d: int, expansion: float, multiple: int):
        super().__init__()
        hidden = swiglu_hidden(d, expansion, multiple)
        self.gate_up = linear(d, 2 * hidden)
        self.down = linear(hidden, d)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(h).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class TokenMixer(nn.Module):
    """TRM-MLP's replacement for attention: a SwiGLU across the token axis.

    Its weights are tied to a fixed sequence length, so it is only for fixed layouts
    (grids, or a question field of fixed width).
    """

    def __init__(self, seq_len: int, expansion: float, multiple: int):
        super().__init__()
        self.seq_len = seq_len
        self.mlp = SwiGLU(seq_len, expansion, multiple)

    def forward(self, h: torch.Tensor, ctx: Context, cache: KVCache | None = None) -> torch.Tensor:
        if cache is not None:
            raise ValueError("the token mixer has no incremental (cached) form")
        if h.shape[1] != self.seq_len:
            raise ValueError(f"token mixer built for length {self.seq_len}, got {h.shape[1]}")
        return self.mlp(h.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    """Post-norm block, as in TRM: h = norm(h + mix(h)); h = norm(h + mlp(h))."""

    def __init__(self, d: int, n_heads: int, expansion: float, multiple: int,
                 mixer: str = "attention", seq_len: int = 0):
        super().__init__()
        if mixer == "attention":
            self.mix = Attention(d, n_heads)
        elif mixer == "mlp":
            self.mix = TokenMixer(seq_len, expansion, multiple)
        else:
            raise ValueError(f"unknown mixer {mixer!r}: choose 'attention' or 'mlp'")
        self.mlp = SwiGLU(d, expansion, multiple)

    def forward(self, h: torch.Tensor, ctx: Context, cache: KVCache | None = None) -> torch.Tensor:
        h = rms_norm(h + self.mix(h, ctx, cache))
        return rms_norm(h + self.mlp(h))


class Stack(nn.Module):
    """A few blocks applied in order: the "network" TRM recurses over."""

    def __init__(self, n_layers: int, d: int, n_heads: int, expansion: float, multiple: int,
                 mixer: str = "attention", seq_len: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(
            Block(d, n_heads, expansion, multiple, mixer, seq_len) for _ in range(n_layers))

    def forward(self, h: torch.Tensor, ctx: Context, cache: list[KVCache] | None = None) -> torch.Tensor:
        """`cache`: one `KVCache` per block, for incremental decoding (block i gets the i-th)."""
        h = h.to(stream_dtype(h))  # bf16 under autocast (a no-op when it already is)
        for i, block in enumerate(self.blocks):
            h = block(h, ctx, None if cache is None else cache[i])
        return h


def stack_forward_flops(n_layers: int, d: int, expansion: float, multiple: int,
                        seq_len: int, mixer: str = "attention", attended: int | None = None) -> int:
    """Matmul FLOPs of one forward pass of a Stack over one sequence (2 per multiply-add).

    `attended` is the mean number of keys each query sees (seq_len for bidirectional,
    about half for causal).
    """
    hidden = swiglu_hidden(d, expansion, multiple)
    mlp = 2 * seq_len * (d * 2 * hidden + hidden * d)
    if mixer == "attention":
        attended = seq_len if attended is None else attended
        mix = 2 * seq_len * (4 * d * d) + 2 * 2 * seq_len * attended * d
    else:
        t_hidden = swiglu_hidden(seq_len, expansion, multiple)
        mix = 2 * d * (seq_len * 2 * t_hidden + t_hidden * seq_len)
    return n_layers * (mlp + mix)
