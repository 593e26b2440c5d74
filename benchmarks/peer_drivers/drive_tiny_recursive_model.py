"""tiny-recursive-model 0.0.15 (lucidrains) at config (a): its TinyRecursiveModel over an
x-transformers Encoder (2 layers, 8 heads of 32, rotary), one supervision step per call of
`model(seq, outputs, latents, labels)` as its Trainer does, the (outputs, latents) carried."""
import torch
from _common import Tail, autocast, maybe_compile, net_flops, parse_args, report, trm_step_flops
from importlib.metadata import version
from tiny_recursive_model import TinyRecursiveModel
from x_transformers import Encoder

a = parse_args(dim=256, layers=2, heads=8, seq=81, vocab=11, batch=64, n=6, T=3)
net = Encoder(dim=a.dim, depth=a.layers, heads=a.heads, attn_dim_head=a.dim // a.heads, rotary_pos_emb=True,
              rotary_emb_dim=a.dim // a.heads)  # rotate the whole head, as trmlab does
model = TinyRecursiveModel(dim=a.dim, num_tokens=a.vocab, network=net, num_refinement_blocks=a.T,
                           num_latent_refinements=a.n)
tail = Tail(model)
seq = torch.randint(0, a.vocab, (a.batch, a.seq))
labels = torch.randint(0, a.vocab, (a.batch, a.seq))
state = list(model.get_initial())


def forward(y, z):
    with autocast(a.precision):
        loss, _, y, z, _, _ = model(seq, y, z, labels=labels)
    return loss, y, z


forward = maybe_compile(forward, a)


def step():
    loss, *state[:] = forward(*state)
    tail(loss)


mlp = 2 * a.dim * 4 * a.dim  # x-transformers default feed-forward: GELU, mult 4
flops = a.batch * trm_step_flops(net_flops(a.dim, a.layers, a.seq, mlp), a.n, a.T, 2 * a.seq * a.dim * a.vocab)
report("tiny-recursive-model", a, step, batch=a.batch, seq_len=a.seq, flops_per_step=flops,
       params=sum(p.numel() for p in model.parameters()),
       extra={"version": version("tiny-recursive-model"), "x_transformers": version("x-transformers")})
