"""nano-trm 0.1.0 at config (a): its Lightning TRMModule (2 post-norm blocks, 8 heads, RoPE,
SwiGLU, H_cycles=T=3, L_cycles=n=6, the persistent carry with halting), no puzzle
embedding. One step is its `compute_loss_and_metrics(carry, batch)` (what its
training_step runs) and the shared tail. Its SwiGLU rounds the inner width to 256: 768."""
import torch
from _common import Tail, autocast, maybe_compile, net_flops, parse_args, report, trm_step_flops
from importlib.metadata import version
from src.nn.models.trm import TRMModule

a = parse_args(dim=256, layers=2, heads=8, seq=81, vocab=11, batch=64, n=6, T=3, expansion=4.0)
model = TRMModule(hidden_size=a.dim, num_layers=a.layers, num_heads=a.heads, H_cycles=a.T, L_cycles=a.n,
                  N_supervision=16, ffn_expansion=a.expansion, vocab_size=a.vocab, num_puzzles=1,
                  batch_size=a.batch, seq_len=a.seq, puzzle_emb_dim=0, puzzle_emb_len=0,
                  forward_dtype=torch.float32).train()  # fp32 weights; bf16 comes from autocast
tail = Tail(model)
batch = {"input": torch.randint(0, a.vocab, (a.batch, a.seq)),
         "output": torch.randint(0, a.vocab, (a.batch, a.seq)),
         "puzzle_identifiers": torch.zeros(a.batch, dtype=torch.int32)}
carry = [model.initial_carry(batch)]


def forward(carry):
    with autocast(a.precision):
        carry, loss, _, _ = model.compute_loss_and_metrics(carry, batch)
    return carry, loss


forward = maybe_compile(forward, a)


def step():
    carry[0], loss = forward(carry[0])
    tail(loss / a.batch)


inter = -(-round(a.expansion * a.dim * 2 / 3) // 256) * 256
flops = a.batch * trm_step_flops(net_flops(a.dim, a.layers, a.seq, 3 * a.dim * inter), a.n, a.T,
                                 2 * a.seq * a.dim * a.vocab)
report("nano-trm", a, step, batch=a.batch, seq_len=a.seq, flops_per_step=flops,
       params=sum(p.numel() for p in model.parameters()), extra={"version": version("nano-trm")})
