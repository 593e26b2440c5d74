"""Hugging Face transformers GPT-2 at the shape of trmlab's transformer LM (same width,
depth, heads, sequence and batch; dropout off; SDPA attention): teacher-forced loss on
the last `answer` positions, then the shared tail. GPT-2 differs in its blocks
(pre-LayerNorm, GELU MLP of 4d, biases, learned positions, tied embeddings), so its
parameter count is reported beside trmlab's."""
import torch
import torch.nn.functional as F
from _common import Tail, autocast, maybe_compile, net_flops, parse_args, report
from importlib.metadata import version
from transformers import GPT2Config, GPT2LMHeadModel

a = parse_args(dim=128, layers=2, heads=4, seq=68, vocab=11, batch=64, answer=4)
cfg = GPT2Config(vocab_size=a.vocab, n_positions=a.seq, n_embd=a.dim, n_layer=a.layers, n_head=a.heads,
                 resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
model = GPT2LMHeadModel(cfg).train()
tail = Tail(model)
tokens = torch.randint(0, a.vocab, (a.batch, a.seq))
targets = torch.randint(0, a.vocab, (a.batch, a.answer))


def forward():
    with autocast(a.precision):
        logits = model(tokens, logits_to_keep=a.answer).logits
        return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())


forward = maybe_compile(forward, a)


def step():
    tail(forward())


# trmlab's convention for the LM: causal attention sees (L+1)/2 keys on average.
net = net_flops(a.dim, a.layers, a.seq, 2 * a.dim * 4 * a.dim, attended=(a.seq + 1) // 2)
flops = a.batch * 3 * (net + 2 * a.answer * a.dim * a.vocab)
report("gpt2 (transformers)", a, step, batch=a.batch, seq_len=a.seq, flops_per_step=flops,
       params=sum(p.numel() for p in model.parameters()), extra={"version": version("transformers")})
