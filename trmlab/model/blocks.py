"""Building blocks shared by every model: one implementation of each idea.

RMSNorm, rotary position embeddings, attention through PyTorch's fused
`scaled_dot_product_attention`, the SwiGLU MLP, TRM's token-mixing MLP, and a
post-norm block that combines them. The recursive reasoner, the transformer
LM and the ablations are all stacks of `Block`.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel


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
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


@dataclass
class Context:
    """What every block needs besides the hidden states; built once per forward.

    rope:  (cos, sin), each [B, 1, L, head_dim]
    mask:  boolean attention mask broadcastable to [B, heads, L, L] (True = may attend),
           or None for full bidirectional attention
    causal: use the causal fast path (only when mask is None)
    """

    rope: tuple[torch.Tensor, torch.Tensor]
    mask: torch.Tensor | None = None
    causal: bool = False


class Rotary(nn.Module):
    """Rotary embeddings for explicit per-row positions [B, L].

    Positions are passed in (not implied by the column index) so that a question
    padded to any length gets exactly the same relative positions.
    """

    def __init__(self, head_dim: int, theta: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = positions.float()[..., None] * self.inv_freq  # [B, L, hd/2]
        angles = torch.cat([angles, angles], dim=-1)[:, None]  # [B, 1, L, hd]
        return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    cos, sin = rope
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + rotated * sin).to(x.dtype)


class Attention(nn.Module):
    """Multi-head self-attention with a fused QKV projection and RoPE."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        if d % n_heads or (d // n_heads) % 2:
            raise ValueError(f"d_model={d} must split into {n_heads} heads of even size")
        self.n_heads = n_heads
        self.qkv = linear(d, 3 * d)
        self.out = linear(d, d)

    def forward(self, h: torch.Tensor, ctx: Context) -> torch.Tensor:
        B, L, D = h.shape
        q, k, v = self.qkv(h).view(B, L, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, ctx.rope), apply_rotary(k, ctx.rope)
        with _cpu_backward_kernel(h):
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx.mask,
                                               is_causal=ctx.causal and ctx.mask is None)
        return self.out(o.transpose(1, 2).reshape(B, L, D))


def _cpu_backward_kernel(h: torch.Tensor):
    """On CPU with gradients, SDPA's math kernel: its backward is ~2x faster than the CPU
    flash kernel's at these short lengths (measured: B64 L100 4 heads bf16, 23 vs 50 ms).
    Everywhere else, SDPA picks its own kernel."""
    if h.device.type == "cpu" and torch.is_grad_enabled():
        return sdpa_kernel(SDPBackend.MATH)
    return contextlib.nullcontext()


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

    def forward(self, h: torch.Tensor, ctx: Context) -> torch.Tensor:
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

    def forward(self, h: torch.Tensor, ctx: Context) -> torch.Tensor:
        h = rms_norm(h + self.mix(h, ctx))
        return rms_norm(h + self.mlp(h))


class Stack(nn.Module):
    """A few blocks applied in order: the "network" TRM recurses over."""

    def __init__(self, n_layers: int, d: int, n_heads: int, expansion: float, multiple: int,
                 mixer: str = "attention", seq_len: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(
            Block(d, n_heads, expansion, multiple, mixer, seq_len) for _ in range(n_layers))

    def forward(self, h: torch.Tensor, ctx: Context) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, ctx)
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
