"""Model configurations. Plain dataclasses: they go into every checkpoint as JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..validate import Rule, above, at_least, check_fields, one_of, require, within

HALTING_MODES = ("act", "fixed", "random")
RECURSION_SCHEMES = ("trm", "looped", "recurrent_depth", "deq")
INJECTIONS = ("sum", "concat", "norm")
FEEDBACK_MODES = ("continuous", "tokens")
POSITIONS = ("rope", "none", "random", "coupled")  # random (Ruoss et al. 2023), coupled (Cho et al. 2024): the LM only


@dataclass
class NetConfig:
    """The shared network: a stack of post-norm blocks."""

    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    ffn_expansion: float = 4.0
    ffn_multiple: int = 32  # SwiGLU inner width is rounded up to this (TRM uses 256 at d=512)
    mixer: str = "attention"  # or "mlp": TRM-MLP's token mixer (fixed question width)
    rope_theta: float = 10000.0
    max_positions: int = 1024
    positions: str = "rope"  # "rope" (rotary, relative) or "none" (no positional encoding)
    window: int = 0  # attention sees keys within this many positions (|i - j| <= window); 0 = all

    recursive = False  # iterated: evaluated after every iteration (supervision step)
    deep_supervision = False  # trained with a carry of states across optimiser steps
    RULES = {"d_model": at_least(1), "n_layers": at_least(1), "n_heads": at_least(1),
             "ffn_expansion": above(0), "ffn_multiple": at_least(1), "mixer": one_of("attention", "mlp"),
             "rope_theta": above(0), "max_positions": at_least(1),
             "positions": Rule(lambda v: v in ("rope", "none"),
                               "one of rope, none (random and coupled positions are for the transformer LM only)"),
             "window": at_least(0)}

    def __post_init__(self):
        check_fields("model", self, self.RULES)
        require(self.d_model % self.n_heads == 0 and self.d_model // self.n_heads % 2 == 0,
                f"model.d_model={self.d_model} must be a multiple of 2 * model.n_heads={self.n_heads} "
                "(each head rotates pairs of dimensions)")

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}

    @property
    def fixed_question_width(self) -> int | None:
        """The question width the token-mixing MLP is built for; None = any width
        (attention does not depend on padding, so batches are trimmed)."""
        return getattr(self, "question_len", 0) if self.mixer == "mlp" else None


@dataclass
class ReasonerConfig(NetConfig):
    """TRM for text: [registers | question | answer field], recursed over y and z.

    answer_len=0 reads the answer in place, one token per question token (grid puzzles)."""

    kind = "reasoner"
    recursive = True
    n_latent: int = 6  # n: latent updates z <- net(x + y + z) per cycle
    n_cycles: int = 3  # T: cycles per supervision step, the first T-1 without gradients
    n_sup: int = 16  # N_sup: most supervision steps per example in training
    n_registers: int = 4  # register 0 feeds the halting head
    answer_len: int = 8  # F: answer slots, the EOS included; 0 = in place (at the question's tokens)
    distinct_slots: bool = False  # one learned placeholder per slot instead of one shared (label-free either way)
    question_len: int = 0  # fixed question width; required by the "mlp" mixer only
    # The question is a square board read in 2-D (answered in place): a cell's position is its
    # (row, column), side = sqrt(the row's question length), so one model reads any board size;
    # `window` means |drow| <= w and |dcol| <= w, and rotary turns half its pairs by row and half
    # by column. Registers read the whole board and no cell reads them (cells stay local).
    grid_2d: bool = False
    halt_explore_prob: float = 0.1
    halt_loss_weight: float = 0.5
    loss: str = "softmax"  # or "stablemax"
    # How many supervision steps a training row runs: "act" (the halting head decides,
    # with exploration), "fixed" (always n_sup), "random" (uniform in 1..n_sup, drawn per row).
    halting: str = "act"
    # What carries the answer from one supervision step to the next: "continuous" (y, as in
    # TRM) or "tokens" (the decoded answer re-embedded into the answer slots; an ablation).
    feedback: str = "continuous"
    # One network per call instead of one shared network: the unrolled (untied) baseline.
    untied: bool = False
    # Learned per-puzzle embeddings (ARC, as in TRM), added at register 0; 0 = none. At least
    # the task's number of puzzle identifiers; trained with sign-SGD (train.puzzle_lr).
    puzzle_ids: int = 0
    # How the recursion is trained (`model/recursion.py`); one iteration is always one
    # supervision step's forward (T latent recursions), and N_sup the iterations trained:
    #   trm              deep supervision with a detached carry (TRM)
    #   looped           N_sup iterations from the initial state, full backpropagation
    #   recurrent_depth  a random count (mean N_sup) from a random state, truncated backprop
    #   deq              iterate to a fixed point (tolerance, at most N_sup), then a phantom
    #                    or implicit gradient at it
    recursion: str = "trm"
    grad_cycles: int = 1  # cycles of an iteration with gradients (TRM: the last one); 0 = all
    carry: str = "kept"  # trm: "reset" restarts (y, z) before every supervision step (a probe)
    stagger: bool = False  # trm: the first examples run 1..N_sup steps, so batches mix steps (a probe)
    injection: str = "sum"  # x into the z update: "sum" (x+y+z), "concat" (adapter [x, y+z]), "norm"
    progressive: bool = False  # looped: a loss after every iteration, not only the last
    # Looped recipes for extrapolation (size-generalisation): a row runs T = ceil(loops_per_token
    # * its question tokens) iterations, not N_sup (0 = N_sup), plus U{0..extra_loops} more drawn
    # per row; incremental_alpha mixes in Bansal et al.'s progressive loss (n ~ U{0..T-1}
    # iterations without gradient, k ~ U{1..T-n} with it, the loss after n + k):
    # (1 - alpha) * loss after T + alpha * that loss. recall=False feeds the question only once,
    # into the starting state, instead of into every latent update (the recall ablation). Under
    # recursion=trm, loops_per_token makes T the row's most supervision steps instead of N_sup.
    loops_per_token: float = 0.0
    extra_loops: int = 0
    incremental_alpha: float = 0.0
    recall: bool = True
    depth_dist: str = "uniform"  # recurrent_depth: count uniform in 1..2N_sup-1, or "lognormal" (Huginn)
    grad_iters: int = 0  # recurrent_depth / deq (phantom): last iterations with gradients; 0 = 1 for deq, all else
    deq_tol: float = 1e-3  # deq: stop when |f(s) - s| / |f(s)| is below this
    deq_grad: str = "phantom"  # deq: "phantom" (grad_iters steps from the fixed point) or "implicit"
    sup_curriculum: int = 0  # trm: optimiser steps over which the most steps per row grow 1 -> N_sup
    checkpointing: bool = False  # recompute activations in backward (torch.utils.checkpoint): less memory

    RULES = {**NetConfig.RULES, "n_latent": at_least(1), "n_cycles": at_least(1), "n_sup": at_least(1),
             "n_registers": at_least(1), "answer_len": at_least(0), "question_len": at_least(0),
             "halt_explore_prob": within(0, 1), "halt_loss_weight": at_least(0, "a number"),
             "loss": one_of("softmax", "stablemax"), "halting": one_of(*HALTING_MODES),
             "feedback": one_of(*FEEDBACK_MODES), "puzzle_ids": at_least(0),
             "recursion": one_of(*RECURSION_SCHEMES), "grad_cycles": at_least(0), "carry": one_of("kept", "reset"),
             "injection": one_of(*INJECTIONS), "depth_dist": one_of("uniform", "lognormal"),
             "grad_iters": at_least(0), "deq_tol": above(0), "deq_grad": one_of("phantom", "implicit"),
             "sup_curriculum": at_least(0), "loops_per_token": at_least(0, "a number"),
             "extra_loops": at_least(0), "incremental_alpha": within(0, 1)}

    def __post_init__(self):
        super().__post_init__()
        require(self.mixer != "mlp" or self.question_len > 0,
                "model.mixer='mlp' needs a fixed model.question_len >= 1 (the token mixer's width)")
        require(not self.grid_2d or (self.answer_len == 0 and self.mixer == "attention"),
                "model.grid_2d reads a board in place with attention: set model.answer_len=0 and model.mixer='attention'")
        require(not self.grid_2d or self.positions != "rope" or self.d_model // self.n_heads % 4 == 0,
                f"model.grid_2d rotates half of each head's pairs by row and half by column: d_model/n_heads="
                f"{self.d_model // self.n_heads} must be a multiple of 4")
        require(not self.untied or self.n_cycles == 1,
                "model.untied needs model.n_cycles=1: the layers of the no-grad cycles would never be trained")
        require(self.grad_cycles <= self.n_cycles,
                f"model.grad_cycles={self.grad_cycles}: must be 0 (all) to model.n_cycles={self.n_cycles}")
        require(self.recursion == "trm" or self.feedback == "continuous",
                "model.feedback='tokens' is a deep-supervision ablation: use model.recursion='trm'")
        looped_only = {"extra_loops": self.extra_loops, "incremental_alpha": self.incremental_alpha,
                       "progressive": self.progressive}
        require(not self.loops_per_token or self.recursion in ("looped", "trm"),
                "model.loops_per_token sets a row's iterations (looped) or most supervision steps (trm): "
                "use model.recursion='looped' or 'trm'")
        for name, value in looped_only.items():
            require(not value or self.recursion == "looped", f"model.{name} is a looped recipe: use model.recursion='looped'")
        require(not (self.progressive and (self.loops_per_token or self.extra_loops or self.incremental_alpha)),
                "model.progressive (a loss after every iteration) does not combine with per-row loop counts "
                "or the incremental loss")
        require(self.recall or (self.recursion != "trm" and self.injection == "sum"),
                "model.recall=False needs a carry-less scheme (model.recursion looped, recurrent_depth or deq) "
                "and model.injection='sum'")

    @property
    def trained_steps(self) -> int:
        """The iterations a trained model answers after by default (and is selected and headlined
        at): N_sup, or 1 when every supervision step started afresh (`carry="reset"`)."""
        return 1 if self.carry == "reset" else self.n_sup

    @property
    def deep_supervision(self) -> bool:
        """Trained one supervision step per optimiser step, with a carry (TRM, HRM)."""
        return self.recursion == "trm"

    @property
    def net_calls_per_step(self) -> int:
        """Network applications in one supervision step: T cycles of n latent + 1 answer update."""
        return self.n_cycles * (self.n_latent + 1)


@dataclass
class HRMConfig(ReasonerConfig):
    """HRM (Wang et al., 2025) over the same blocks: a low-level network updated `n_latent`
    times per high-level update, `n_cycles` high-level updates per supervision step, a
    1-step gradient (only the last low and the last high update), and Q-learning halting
    with a halt and a continue head. Fields as in ReasonerConfig; HRM's published setting
    is 2 low x 2 high cycles."""

    kind = "hrm"
    n_latent: int = 2  # low-level updates per high-level update (HRM's L_cycles)
    n_cycles: int = 2  # high-level updates per supervision step (H_cycles)

    def __post_init__(self):
        super().__post_init__()
        if self.feedback != "continuous" or self.untied or self.recursion != "trm":
            raise ValueError("HRM has no token-feedback, untied or other recursion variant")


@dataclass
class TransformerConfig(NetConfig):
    """Decoder-only LM over `question <sep> answer <eos>`, loss on the answer only."""

    kind = "transformer"
    answer_len: int = 8  # most tokens generated, the EOS included
    loss: str = "softmax"
    # positions: also "random": RoPE at sorted random positions in [0, max_positions), so
    # max_positions must cover the longest sequence (question, SEP, answer_len) it will see; and
    # "coupled": the answer's tokens at their question tokens' positions (transformer.py).
    RULES = {**NetConfig.RULES, "answer_len": at_least(1), "loss": one_of("softmax", "stablemax"),
             "mixer": one_of("attention"), "positions": one_of(*POSITIONS)}


@dataclass
class RecurrentConfig:
    """A recurrent network over the sequence (LSTM or GRU): it reads the question left to right and
    writes the in-place answer at each position, the control a length-generalisation reader asks for
    first (Delétang et al. 2023: an LSTM is exact on parity at any length). Not built from `blocks`:
    no attention, no positions; its width is matched to another model's counted parameters."""

    kind = "recurrent"
    recursive = False
    deep_supervision = False
    answer_len = 0  # in place only: one output per question token
    positions = "none"  # it reads in order: a longer question shows it nothing new (evaluation/think.py)
    fixed_question_width = None
    d_model: int = 128  # the embedding and hidden width
    n_layers: int = 1
    cell: str = "lstm"  # or "gru"
    delay: int = 0  # position i's answer is read after token i + delay (a lookahead; model/recurrent.py)
    read_first: bool = False  # the whole question first, then position i's answer i + 1 steps later
    max_positions: int = 4096  # the longest question `solve` and `eval --file` hand it (it has no limit)
    loss: str = "softmax"
    RULES = {"d_model": at_least(1), "n_layers": at_least(1), "cell": one_of("lstm", "gru"), "delay": at_least(0),
             "max_positions": at_least(1), "loss": one_of("softmax", "stablemax")}

    def __post_init__(self):
        check_fields("model", self, self.RULES)

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}


MODEL_CONFIGS = {"reasoner": ReasonerConfig, "hrm": HRMConfig, "transformer": TransformerConfig,
                 "recurrent": RecurrentConfig}


def model_config_from_dict(d: dict) -> NetConfig:
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in MODEL_CONFIGS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_CONFIGS)}")
    cls = MODEL_CONFIGS[kind]
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"{kind} config has no field {', '.join(sorted(unknown))}")
    return cls(**d)
