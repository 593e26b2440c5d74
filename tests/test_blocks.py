"""The fast paths in blocks.py compute what the plain expressions compute."""
import torch
import torch.nn.functional as F

from trmlab.model.blocks import Rotary, apply_rotary, attention, attention_bias, rms_norm, stream_dtype


def test_rms_norm_forward_and_backward_match_the_plain_expression():
    x = torch.randn(3, 5, 16, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda t: rms_norm(t), (x,))
    plain = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)
    assert torch.allclose(rms_norm(x), plain)
    xb = torch.randn(4, 32).bfloat16()
    assert rms_norm(xb).dtype == torch.bfloat16  # the stream keeps its dtype; statistics in fp32


def test_rotary_is_rotate_half():
    hd = 8
    x = torch.randn(2, 5, 3, 4, hd)  # [B, L, (q/k), heads, hd]
    pos = torch.arange(5)[None].expand(2, 5) + torch.tensor([[0], [3]])
    cos, sin = Rotary(hd)(pos)
    angles = pos.float()[..., None] * Rotary(hd).inv_freq
    c = torch.cat([angles.cos()] * 2, -1)[:, :, None, None]
    s = torch.cat([angles.sin()] * 2, -1)[:, :, None, None]
    rotate_half = torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    assert torch.allclose(apply_rotary(x, (cos, sin)), x * c + rotate_half * s, atol=1e-6)


def test_cpu_bf16_attention_matches_sdpa_with_masks_and_gradients():
    torch.manual_seed(0)
    B, H, L, hd = 3, 2, 7, 8
    q, k, v = (torch.randn(B, H, L, hd) for _ in range(3))
    key_ok = torch.arange(L)[None] < torch.tensor([[7], [4], [5]])
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    for mask in (None, key_ok[:, None, None, :], causal, causal & key_ok[:, None, None, :]):
        ref = [t.clone().requires_grad_() for t in (q, k, v)]
        out = [t.bfloat16().requires_grad_() for t in (q, k, v)]
        expect = F.scaled_dot_product_attention(*ref, attn_mask=mask)
        got = attention(*out, None if mask is None else attention_bias(mask, torch.bfloat16))  # the bf16 CPU path
        assert got.dtype == torch.bfloat16
        assert torch.allclose(got.float(), expect, atol=3e-2), mask
        # fp32 takes SDPA's path with the same additive mask: the boolean mask's result
        plain = attention(*(t.detach() for t in ref), None if mask is None else attention_bias(mask, torch.float32))
        assert torch.allclose(plain, expect.detach(), atol=1e-5)
        expect.sum().backward()
        got.float().sum().backward()
        for a, b in zip(ref, out):
            assert torch.allclose(b.grad.float(), a.grad, atol=6e-2)


def test_stream_dtype_follows_autocast():
    x = torch.randn(2, 3)
    assert stream_dtype(x) == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert stream_dtype(x) == torch.bfloat16
