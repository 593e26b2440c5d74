"""From examples to tensors: tokenised once, batched by indexing, streamed resumably.

A split is held as padded tensors (question right-padded with PAD; answer as its
tokens, EOS, then PAD; for grid puzzles, in place: one token per board cell), so the
training loop never touches Python strings. The
stream of training indices is a seeded permutation per epoch whose position is
saved in every checkpoint, so a resumed run sees exactly the examples it would
have seen.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .tasks import Example
from .tokenizer import EOS, PAD


class TooLongError(ValueError):
    pass


@dataclass
class EncodedSplit:
    examples: list[Example]
    question: torch.Tensor  # [N, Lq] long
    question_len: torch.Tensor  # [N]
    answer: torch.Tensor  # [N, F]
    difficulty: torch.Tensor  # [N]
    skipped: int = 0  # examples dropped because they did not fit
    augment: object = None  # grids, training split: (n, torch.Generator) -> (perm, symbol_map) or None
    relabel: object = None  # text, training split with data.augment: a Relabel
    puzzle: torch.Tensor | None = None  # [N] puzzle identifiers (ARC: one learned embedding each)
    exact: bool = False  # answers compared as written (an in-place task's string in an answer field)

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, idx: torch.Tensor, device="cpu", width: int | None = None) -> dict:
        """Rows `idx`; the question padded to `width` columns, or by default trimmed to
        the longest question in the batch (models do not depend on the padding)."""
        qlen = self.question_len[idx]
        longest = int(qlen.max()) if len(idx) else 0
        width = longest if width is None else width
        if width < longest:
            raise TooLongError(f"a question of {longest} tokens does not fit width {width}")
        question = self.question[idx, :width]
        if width > question.shape[1]:
            question = torch.nn.functional.pad(question, (0, width - question.shape[1]), value=PAD)
        out = {"question": question.to(device), "question_len": qlen.to(device),
               "answer": self.answer[idx].to(device)}
        if self.puzzle is not None:
            out["puzzle"] = self.puzzle[idx].to(device)
        return out

    def head(self, n: int) -> "EncodedSplit":
        """The first `n` rows, as stored (never augmented): e.g. the training set scored like a test set."""
        return replace(self, examples=self.examples[:n], question=self.question[:n], question_len=self.question_len[:n],
                       answer=self.answer[:n], difficulty=self.difficulty[:n], augment=None, relabel=None,
                       puzzle=None if self.puzzle is None else self.puzzle[:n])

    def batches(self, batch_size: int, device="cpu", width: int | None = None, order: torch.Tensor | None = None):
        """(row indices, batch) over every row, in `order` (default: as stored)."""
        order = torch.arange(len(self)) if order is None else order
        for start in range(0, len(self), batch_size):
            idx = order[start:start + batch_size]
            yield idx, self.batch(idx, device, width)


def encode(examples: list[Example], tokenizer, answer_len: int, max_question_len: int,
           too_long: str = "error", where: str = "", unscored: str = "") -> EncodedSplit:
    """Tokenise examples. Questions longer than `max_question_len` tokens, or answers that
    do not fit `answer_len - 1` tokens plus EOS, are rejected (too_long='error') or
    dropped and counted (too_long='skip'); never truncated.

    `answer_len=0` encodes answers in place: one token per question token, no EOS (grid
    puzzles); answer characters in `unscored` become PAD (not scored, e.g. ARC's padding)."""
    if too_long not in ("error", "skip"):
        raise ValueError(f"too_long must be 'error' or 'skip', not {too_long!r}")
    kept, qs, ans = [], [], []
    for i, ex in enumerate(examples):
        q = tokenizer.encode(ex.question)
        if answer_len:
            a = tokenizer.encode(ex.answer) + [EOS]
            problem = (f"question has {len(q)} tokens (limit {max_question_len})" if len(q) > max_question_len
                       else f"answer {ex.answer!r} needs {len(a)} slots (answer_len {answer_len})"
                       if len(a) > answer_len else "empty question" if not q else None)
        else:
            a = tokenizer.encode(ex.answer)
            if unscored:  # one character per cell (a board)
                a = [PAD if c in unscored else t for c, t in zip(ex.answer, a)]
            problem = (f"board has {len(q)} cells (limit {max_question_len})" if len(q) > max_question_len
                       else f"answer has {len(a)} cells, its board {len(q)}" if len(a) != len(q)
                       else "empty board" if not q else None)
        if problem:
            if too_long == "error":
                raise TooLongError(f"{where}example {i}: {problem}; raise the limit or use too_long='skip'")
            continue
        kept.append(ex)
        qs.append(q)
        ans.append(a)
    width = max((len(q) for q in qs), default=1)
    question = torch.full((len(qs), width), PAD, dtype=torch.long)
    answer = torch.full((len(qs), answer_len or width), PAD, dtype=torch.long)
    for i, (q, a) in enumerate(zip(qs, ans)):
        question[i, :len(q)] = torch.tensor(q)
        answer[i, :len(a)] = torch.tensor(a)
    return EncodedSplit(kept, question, torch.tensor([len(q) for q in qs], dtype=torch.long), answer,
                        torch.tensor([ex.difficulty for ex in kept], dtype=torch.long),
                        skipped=len(examples) - len(kept))


class Relabel:
    """A text task's label-preserving augmentation of training rows (data.augment): each row's
    example relabelled afresh (`Task.augment_example`, kept in the train split's hash bucket) and
    re-encoded. Every draw comes from the objective's seeded generator, one seed per row of the
    global batch, so training stays deterministic, resumable and the same on every rank. A row whose
    re-encoded question changes length (possible with BPE only), or whose answer would not fit, is
    kept as it was: the split's padded width and the row's length never change."""

    def __init__(self, task, tokenizer):
        self.task, self.tokenizer = task, tokenizer

    def __call__(self, data: "EncodedSplit", index: torch.Tensor, batch: dict, generator: torch.Generator) -> dict:
        import random

        from .tasks.base import augmented

        seeds = torch.randint(0, 2 ** 62, (len(index),), generator=generator).tolist()
        question, answer = batch["question"].clone(), batch["answer"].clone()
        for row, (i, seed) in enumerate(zip(index.tolist(), seeds)):
            ex = augmented(self.task, data.examples[i], random.Random(seed))
            q = self.tokenizer.encode(ex.question)
            a = self.tokenizer.encode(ex.answer) + [EOS]
            if len(q) != int(data.question_len[i]) or len(a) > answer.shape[1]:
                continue
            question[row, :len(q)] = torch.tensor(q)
            answer[row] = PAD
            answer[row, :len(a)] = torch.tensor(a)
        return {**batch, "question": question, "answer": answer}


@dataclass
class IndexStream:
    """Endless training indices: a fresh seeded permutation every epoch; resumable."""

    size: int
    seed: int
    epoch: int = 0
    offset: int = 0
    _perm: torch.Tensor | None = field(default=None, repr=False)

    def _permutation(self) -> torch.Tensor:
        if self._perm is None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm = torch.randperm(self.size, generator=g)
        return self._perm

    def take(self, k: int) -> torch.Tensor:
        out = []
        while k > 0:
            perm = self._permutation()
            chunk = perm[self.offset:self.offset + k]
            out.append(chunk)
            k -= len(chunk)
            self.offset += len(chunk)
            if self.offset == self.size:
                self.epoch, self.offset, self._perm = self.epoch + 1, 0, None
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)

    @property
    def consumed(self) -> int:
        return self.epoch * self.size + self.offset

    def state_dict(self) -> dict:
        return {"size": self.size, "seed": self.seed, "epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict) -> None:
        if state["size"] != self.size or state["seed"] != self.seed:
            raise ValueError(f"checkpoint's data stream (size {state['size']}, seed {state['seed']}) "
                             f"does not match this run's (size {self.size}, seed {self.seed})")
        self.epoch, self.offset, self._perm = state["epoch"], state["offset"], None


def data_task(cfg):
    """The task a DataConfig names, with its knobs (JSON lists as tuples), unchecked against the layout."""
    from .tasks import make_task
    return make_task(cfg.task, **{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.knobs.items()})


def make_data_task(cfg):
    """The task a DataConfig names, checked against the data layout it asks for."""
    from .tasks.grid.base import GridTask

    task = data_task(cfg)
    if isinstance(task, GridTask) and (cfg.answer_len or cfg.tokenizer != "char"):
        raise ValueError(f"task {cfg.task!r} is a grid puzzle: its answer is read in place "
                         f"(set data.answer_len=0, model.answer_len=0) with the char tokenizer")
    words = getattr(task, "vocabulary", None)
    if words and cfg.tokenizer != "word":
        raise ValueError(f"task {cfg.task!r} is written in words of its own vocabulary: set data.tokenizer=word")
    if cfg.tokenizer == "word" and not words:
        raise ValueError(f"data.tokenizer=word reads a task's own vocabulary; {cfg.task!r} has none (use char or bpe)")
    if task.in_place and cfg.tokenizer == "bpe":
        raise ValueError(f"task {cfg.task!r} is answered in place, one token per character: use the char tokenizer")
    if getattr(cfg, "augment", False) and not isinstance(task, GridTask) and not hasattr(task, "augment_example"):
        raise ValueError(f"data.augment=True: task {cfg.task!r} has no label-preserving augmentation "
                         f"(relabelling it would change its answers); set data.augment=False")
    if not task.in_place and not cfg.answer_len:
        raise ValueError(f"data.answer_len=0 (answers in place) is for tasks answered in place "
                         f"(grids, prefix_parity, long_addition); {cfg.task!r} is not one")
    return task


def load_splits(cfg, splits=("train", "dev", "test", "ood"), tokenizer=None):
    """(tokenizer, {split: EncodedSplit}) for a DataConfig; deterministic from cfg.seed."""
    from .tokenizer import CharTokenizer, WordTokenizer, build_tokenizer

    task = make_data_task(cfg)
    sizes = {"train": cfg.n_train, "dev": cfg.n_dev, "test": cfg.n_test, "ood": cfg.n_ood}
    drawn = {split: task.examples(split, sizes[split], cfg.seed) for split in splits if sizes[split] > 0}
    alphabet = getattr(task, "alphabet", "")
    if tokenizer is None and alphabet:  # grids: one token per symbol of the task's alphabet
        tokenizer = CharTokenizer(alphabet)
    if tokenizer is None and cfg.tokenizer == "word":  # stories: one token per word of the task's vocabulary
        tokenizer = WordTokenizer(task.vocabulary)
    if tokenizer is None:  # BPE learns from the training split only (drawn for it if not asked for)
        train = []
        if cfg.tokenizer != "char":
            train = drawn.get("train") or task.examples("train", cfg.n_train, cfg.seed)
        tokenizer = build_tokenizer(cfg.tokenizer, [t for ex in train for t in (ex.question, ex.answer)],
                                    cfg.bpe_vocab_size)
    out = {split: encode_for(task, cfg, examples, tokenizer, split) for split, examples in drawn.items()}
    if "train" in out:
        out["train"].augment = getattr(task, "sample_augmentations", None)
        if getattr(cfg, "augment", False) and hasattr(task, "augment_example"):
            out["train"].relabel = Relabel(task, tokenizer)
    return tokenizer, out


def written_after(task, answer: str, tokenizer) -> str:
    """An in-place answer as the LM writes it after the question: fillers and unscored pieces dropped."""
    dropped = set(task.filler + task.unscored)  # single characters: a character, or a word of its own
    return tokenizer.separator.join(p for p in tokenizer.pieces(answer) if p not in dropped)


def encode_for(task, cfg, examples: list[Example], tokenizer, split: str) -> EncodedSplit:
    where = f"task {cfg.task!r} split {split!r}: "
    exact = task.in_place and cfg.answer_len > 0
    if exact:  # an in-place answer written after the question (the LM): its scored pieces
        examples = [replace(ex, answer=written_after(task, ex.answer, tokenizer)) for ex in examples]
    out = encode(examples, tokenizer, cfg.answer_len, cfg.max_question_len, cfg.too_long,
                 where=where, unscored=task.unscored)
    out.exact = exact
    names = task.puzzle_names() if hasattr(task, "puzzle_names") else None
    if names:
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted({ex.family for ex in out.examples} - set(index))
        if unknown:
            raise ValueError(f"{where}puzzles without an identifier: {', '.join(unknown[:5])}")
        out.puzzle = torch.tensor([index[ex.family] for ex in out.examples], dtype=torch.long)
    return out


def load_eval_set(cfg, split: str, n: int, tokenizer) -> EncodedSplit:
    """An extra held-out set for evaluation only (e.g. Sudoku's top1465 with split 'all'),
    encoded with a trained model's tokenizer."""
    task = make_data_task(cfg)
    return encode_for(task, cfg, task.examples(split, n, cfg.seed), tokenizer, split)
