"""iterative-bert 0.1.2 at config (a): IterativeBert (ModernBERT encoder, 2 layers, 8 heads,
SwiGLU of 704, RoPE, SDPA) with h_cycles=T=3 (the first T-1 without gradients) and
l_cycles=n=6, so 21 encoder passes per step like TRM. It returns hidden states only, so a
linear head and cross-entropy are added here. Its residual stream is `h + encoder(h)`
with no norm after the sum, so the state grows with the number of passes."""
import torch
import torch.nn.functional as F
from _common import Tail, autocast, maybe_compile, net_flops, parse_args, report, trm_step_flops
from importlib.metadata import version
from iterative_bert import IterativeBert, IterativeBertConfig

a = parse_args(dim=256, layers=2, heads=8, seq=81, vocab=11, batch=64, n=6, T=3, inter=704)
cfg = IterativeBertConfig(vocab_size=a.vocab, hidden_size=a.dim, num_hidden_layers=a.layers,
                          num_attention_heads=a.heads, intermediate_size=a.inter, activation_fn="swiglu",
                          norm_type="rmsnorm", use_rope=True, h_cycles=a.T, l_cycles=a.n,
                          l_step_use_conv=False, h_step_use_conv=False, dropout_attn_output=0.0,
                          attn_implementation="sdpa")
model = IterativeBert(cfg).train()
head = torch.nn.Linear(a.dim, a.vocab, bias=False)
tail = Tail(torch.nn.ModuleList([model, head]))
seq = torch.randint(0, a.vocab, (a.batch, a.seq))
labels = torch.randint(0, a.vocab, (a.batch, a.seq))


def forward():
    with autocast(a.precision):
        h = model(seq).last_hidden_state
        return F.cross_entropy(head(h).float().flatten(0, 1), labels.flatten())


forward = maybe_compile(forward, a)


def step():
    tail(forward())


mlp = 3 * a.dim * a.inter
flops = a.batch * trm_step_flops(net_flops(a.dim, a.layers, a.seq, mlp), a.n, a.T, 2 * a.seq * a.dim * a.vocab)
report("iterative-bert", a, step, batch=a.batch, seq_len=a.seq, flops_per_step=flops,
       params=sum(p.numel() for p in model.parameters()) + head.weight.numel(),
       extra={"version": version("iterative-bert")})
