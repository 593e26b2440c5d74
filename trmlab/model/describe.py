"""A model config in words: how the model was trained and what it computes.

`describe_training` is the one description of a training scheme; the model card
(`trmlab export`), the demo's header and `trmlab solve`'s header all print it, so they
never disagree. `halting_head` says what the halting head learned and whether training
obeyed it; `changed_fields` lists every model-config field whose value differs from its
dataclass default, so a knob added to a config later is named with no change here.

Read from the code that trains (`model/recursion.py`, `training/objectives.py`):
  trm              one iteration per optimiser step, the state carried (detached) to the
                   row's next step; when a row stops is `halting`
  looped           N_sup iterations from the initial state, full backpropagation
  recurrent_depth  a drawn number of iterations from a random state, truncated backprop
  deq              iterate to a fixed point without gradients, then a phantom or implicit gradient
  (transformer)    teacher forcing
The halting head is trained in every reasoner scheme (BCE against "the whole answer is
right", weight `halt_loss_weight`); only `trm` with `halting="act"` obeys it in training.
"""
from __future__ import annotations

from dataclasses import MISSING, fields

# What the model is called; the scheme is said separately.
MODEL_NAMES = {"reasoner": "recursive reasoner (TRM's network for text)",
               "hrm": "hierarchical reasoning model (HRM)", "transformer": "decoder-only transformer LM",
               "recurrent": "recurrent network over the sequence (LSTM or GRU)"}


def scheme_name(m) -> str:
    """A few words: 'looped', "TRM's deep supervision (halting=act)", 'teacher forcing', ..."""
    if m.kind == "transformer":
        return "teacher forcing"
    if m.kind == "recurrent":
        return "one left-to-right pass"
    if m.kind == "hrm":
        return f"HRM's deep supervision (halting={m.halting})"
    if one_pass(m):
        return "untied stack, one pass" if m.untied else "single pass" if m.n_latent == 1 else "one iteration"
    name = {"trm": f"TRM's deep supervision (halting={m.halting})",
            "looped": "looped" + (", a loss per iteration" if m.progressive else "")
                      + (", T(n) from the input's length" if m.loops_per_token else "")
                      + (f", incremental loss alpha={m.incremental_alpha:g}" if m.incremental_alpha else ""),
            "recurrent_depth": f"recurrent depth ({m.depth_dist} depth draw)",
            "deq": f"DEQ ({m.deq_grad} gradient)"}[m.recursion]
    return f"untied stack, {name}" if m.untied else name


def one_pass(m) -> bool:
    """A reasoner trained on one iteration of one cycle from the initial state (N_sup = T = 1 under
    trm or looped): the single pass (n = 1 too) and the untied stack of the studies."""
    return m.kind == "reasoner" and m.n_sup == m.n_cycles == 1 and m.recursion in ("trm", "looped")


def describe_training(m) -> str:
    """How a model was trained, in one sentence with the config fields that set it."""
    if m.kind == "transformer":
        return ("teacher forcing: one causal forward over `question <sep> answer`, the loss on the answer "
                f"tokens and EOS only; it answers by greedy decoding (at most answer_len={m.answer_len} tokens), "
                "with no recursion and no halting head")
    if m.kind == "recurrent":
        return (f"one left-to-right pass of a {m.n_layers}-layer {m.cell.upper()} (cell={m.cell}) over the question, "
                "the loss on the in-place answer at every position; no recursion over depth and no halting head")
    calls = m.net_calls_per_step
    if m.kind == "hrm":
        iteration = (f"T={m.n_cycles} high-level updates of n={m.n_latent} low-level updates each, gradients "
                     "through the last low and the last high update only")
    else:
        net = (f"{calls} separate networks (untied=True), one per call" if m.untied
               else f"{calls} calls of one shared network")
        iteration = f"T={m.n_cycles} cycle(s) of n={m.n_latent} latent update(s) and 1 answer update, {net}"
    if one_pass(m):
        return (f"{scheme_name(m)} (N_sup = T = 1, n={m.n_latent}, recursion={m.recursion}): each optimiser step "
                f"runs one iteration ({iteration}) from the fixed initial state on a fresh batch, one loss; "
                "no recursion across iterations")
    if m.recursion == "trm":
        grad = "" if m.kind == "hrm" else (f", gradients through the last {m.grad_cycles} cycle(s)" if m.grad_cycles
                                           else ", gradients through every cycle") + f" (grad_cycles={m.grad_cycles})"
        text = (f"{'HRM' if m.kind == 'hrm' else 'TRM'}'s deep supervision (recursion=trm): each optimiser step runs one supervision "
                f"step ({iteration}{grad}) on a persistent batch of rows, each carrying its detached state to its "
                f"next step, a loss after every step; a row trains up to "
                + (f"T = ceil({m.loops_per_token:g} x its question tokens) steps (loops_per_token) on one example, and "
                   if m.loops_per_token else f"N_sup={m.n_sup} steps on one example, and ")
                + f"halting={m.halting}: " + {
                    "act": f"the halting head decides when it stops, after a random minimum step for a share "
                           f"halt_explore_prob={m.halt_explore_prob:g} of rows (exploration)",
                    "fixed": "every row runs all N_sup steps",
                    "random": "each row runs a number of steps drawn uniformly from 1..N_sup"}[m.halting])
        probes = [("carry=reset: every step starts from the initial state" if m.carry == "reset" else ""),
                  (f"sup_curriculum={m.sup_curriculum}: the most steps per row grow from 1 to N_sup over "
                   f"that many optimiser steps" if m.sup_curriculum else ""),
                  ("stagger=True: the first rows run 1..N_sup steps" if m.stagger else ""),
                  ("feedback=tokens: a step sees only the previous step's decoded answer" if m.feedback == "tokens" else "")]
        text += "".join(f"; {p}" for p in probes if p)
    elif m.recursion == "looped":
        count = (f"T = ceil({m.loops_per_token:g} x its question tokens) iterations (loops_per_token), read "
                 "from the input's length" if m.loops_per_token else f"N_sup={m.n_sup} iterations")
        count += f" plus a random 0..{m.extra_loops} more (extra_loops)" if m.extra_loops else ""
        text = (f"looped (recursion=looped): each optimiser step runs, per example, {count} ({iteration}) on a "
                "fresh batch from the fixed initial state, with full backpropagation through all of them and "
                + ("a loss after every iteration, averaged (progressive=True)" if m.progressive
                   else "one loss, after the last iteration (progressive=False)" if m.incremental_alpha < 1
                   else "only Bansal et al.'s incremental-progress loss (incremental_alpha=1: a random n iterations "
                        "without gradient, then a random k with it, the loss after n + k)")
                + ("" if not 0 < m.incremental_alpha < 1 else
                   f", mixed with weight incremental_alpha={m.incremental_alpha:g} with Bansal et al.'s "
                   "incremental-progress loss (a second pass: a random n iterations without gradient, then a "
                   "random k with it, the loss after n + k)")
                + "; no deep supervision, no carry")
    elif m.recursion == "recurrent_depth":
        draw = (f"uniform in 1..{2 * m.n_sup - 1}" if m.depth_dist == "uniform"
                else f"Poisson-lognormal, mean about {m.n_sup}, at most {4 * m.n_sup}")
        text = (f"recurrent depth (recursion=recurrent_depth): each optimiser step draws its number of iterations "
                f"({draw}: depth_dist={m.depth_dist}, N_sup={m.n_sup}) and runs them ({iteration}) on a fresh batch "
                "from a random state, backpropagating through "
                + (f"the last {m.grad_iters} of them" if m.grad_iters else "all of them")
                + f" (grad_iters={m.grad_iters}), one loss after the last")
    else:  # deq
        gradient = (f"the phantom gradient: {m.grad_iters or 1} iteration(s) with gradients from the fixed point "
                    f"(deq_grad=phantom, grad_iters={m.grad_iters})" if m.deq_grad == "phantom" else
                    "the implicit gradient: one iteration whose backward solves the adjoint fixed point "
                    "(deq_grad=implicit)")
        text = (f"DEQ (recursion=deq): each optimiser step iterates ({iteration}) without gradients from the fixed "
                f"initial state on a fresh batch until the state changes by less than deq_tol={m.deq_tol:g} "
                f"(relative) or N_sup={m.n_sup} iterations, then takes {gradient}; one loss at the end")
    if m.kind == "reasoner" and not m.recall:
        text += "; recall=False: the question enters the starting state only, not every latent update"
    return text


def halting_head(m) -> str | None:
    """What the halting head was trained on, and whether training obeyed it; None for the LM."""
    if m.kind in ("transformer", "recurrent"):
        return None
    if m.halt_loss_weight == 0:
        trained = "The halting head was not trained (halt_loss_weight=0)."
    elif m.kind == "hrm":
        trained = ("The halting head (Q-learning, two outputs read from register 0) was trained alongside the "
                   f"answer (halt_loss_weight={m.halt_loss_weight:g}): `halt` by binary cross-entropy against "
                   "\"the whole answer is right\", `continue` towards the sigmoid of the next step's best value "
                   "(one more forward pass without gradients); it says halt when halt > continue.")
    else:
        where = ("every supervision step" if m.recursion == "trm" else
                 "every iteration that carries a loss" if m.recursion == "looped" and m.progressive else
                 "the iteration that carries the loss")
        trained = ("The halting head (a linear readout of register 0) was trained alongside the answer "
                   f"(halt_loss_weight={m.halt_loss_weight:g}): binary cross-entropy of its logit against \"the "
                   f"whole answer is right\", at {where}.")
    if m.recursion == "trm" and m.n_sup == 1:
        used = "Training had no use for it: with N_sup=1 every row ran one step."
    elif m.recursion == "trm" and m.halting == "act":
        used = "Training obeyed it: a row stopped when it said halt (halting=act)."
    elif m.recursion == "trm":
        used = (f"Training did not use it: rows ran {'all N_sup' if m.halting == 'fixed' else 'a random number of'} "
                f"steps whatever it said (halting={m.halting}).")
    else:
        used = f"Training did not use it: the scheme (recursion={m.recursion}) sets the number of iterations."
    return f"{trained} {used}"


def test_time(m) -> str:
    """How evaluation, `solve` and the demo run the model."""
    if m.kind == "transformer":
        return "It decodes greedily until EOS; there are no steps to add."
    if m.kind == "recurrent":
        return "It reads the question once, left to right; there are no steps to add."
    default = ("each question's own T(n) iterations (the size rule)" if getattr(m, "loops_per_token", 0) else
               f"{m.trained_steps} iteration(s) ({'carry=reset: 1' if m.carry == 'reset' else 'N_sup'})")
    return ("Every scheme runs the same way: iterate from the fixed initial state and read the "
            f"answer after each iteration; the default answer is the one after {default}, and more iterations "
            "may be asked for (`--until-settled` stops once the answer stops changing). "
            "The halting head is read, never obeyed: evaluation reports where it would have stopped.")


def field_defaults(m) -> dict:
    """{field: its dataclass default} of the config's own class (fields without a default are left out)."""
    out = {}
    for f in fields(m):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def changed_fields(m) -> dict:
    """{field: (value, default)} for every config field whose value is not its class's default
    (a field without a default is always listed, with default None)."""
    defaults = field_defaults(m)
    return {f.name: (getattr(m, f.name), defaults.get(f.name)) for f in fields(m)
            if f.name not in defaults or getattr(m, f.name) != defaults[f.name]}


def architecture(m) -> str:
    """The shape of the network(s), every model kind."""
    if m.kind == "recurrent":
        ahead = (", after reading the whole question, one step per position (read_first)" if m.read_first else
                 f", {m.delay} token(s) after it (delay={m.delay})" if m.delay else "")
        return f"{m.n_layers}-layer {m.cell.upper()}, width {m.d_model}, the answer read in place at every question token{ahead}"
    board = getattr(m, "grid_2d", False)  # a square board read in 2-D
    text = (f"d_model {m.d_model}, {m.n_layers} layer(s) per network, {m.n_heads} heads, {m.mixer} mixer, "
            f"SwiGLU ffn ×{m.ffn_expansion:g}, "
            + (f"local attention within {m.window} {'rows and columns' if board else 'position(s)'}" if m.window
               else "attention over every position")
            + {"rope": ", rotary positions", "none": ", no positional encoding",
               "random": ", rotary positions at sorted random draws (randomised positions)",
               "coupled": ", rotary positions, the answer's coupled to its question's (position coupling)"}[m.positions]
            + (", a cell's position its (row, column) on a square board of any size" if board else ""))
    if m.kind == "transformer":
        return text + f", causal; answers of at most {m.answer_len} tokens (EOS included)"
    nets = ("two networks (low and high level)" if m.kind == "hrm" else
            f"{m.net_calls_per_step} untied networks" if m.untied else "one shared network")
    answer = f"{m.answer_len} answer slots (EOS included)" if m.answer_len else "the answer read in place"
    return (text + f"; {nets}; {m.n_registers} registers, {answer}; n_latent {m.n_latent}, "
            f"n_cycles {m.n_cycles}, N_sup {m.n_sup}")


def step_unit(m) -> str:
    """What one step of a recursive model is called: a supervision step under deep supervision,
    an iteration under the other schemes (the same forward either way)."""
    return "supervision steps" if m.recursive and m.deep_supervision else "iterations"
