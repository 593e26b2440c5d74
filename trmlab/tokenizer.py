"""Tokenizers. Every tokenizer turns text into ids and back, and serialises itself
to a plain dict so that it travels inside every checkpoint.

Ids 0..3 are the special tokens in every tokenizer: PAD, EOS, SEP, UNK.
"""
from __future__ import annotations

import re
import string

SPECIALS = ("<pad>", "<eos>", "<sep>", "<unk>")
PAD, EOS, SEP, UNK = range(4)
WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")  # a word, a number or one punctuation mark


def word_pieces(text: str) -> list[str]:
    """Lower-cased words, numbers and punctuation marks: the word tokenizer's tokens."""
    return WORD.findall(text.lower())


def content_ids(ids) -> list[int]:
    """The ids before the first EOS, special tokens dropped: what every decode reads."""
    out = []
    for i in map(int, ids):
        if i == EOS:
            break
        if i >= len(SPECIALS):
            out.append(i)
    return out


class CharTokenizer:
    """One token per character over a fixed alphabet (printable ASCII by default).

    A fixed alphabet makes ids independent of the training data, so a checkpoint can
    read any task's text; characters outside it map to <unk>.
    """

    kind = "char"
    separator = ""  # between pieces in decoded text

    def __init__(self, alphabet: str | None = None):
        self.alphabet = alphabet if alphabet is not None else _default_alphabet()
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError(f"{self.kind} tokenizer: its alphabet repeats a symbol")
        self._id = {c: i + len(SPECIALS) for i, c in enumerate(self.alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.alphabet)

    def pieces(self, text: str) -> list[str]:
        """The text cut into the units that become tokens."""
        return list(text)

    def unknown(self, text: str) -> list[str]:
        """The pieces of `text` outside the alphabet (each becomes <unk>), sorted."""
        return sorted({p for p in self.pieces(text) if p not in self._id})

    def encode(self, text: str) -> list[int]:
        return [self._id.get(p, UNK) for p in self.pieces(text)]

    def symbol(self, i: int, special: str = "") -> str:
        """The text of id `i`; `special` for a special token."""
        return self.alphabet[i - len(SPECIALS)] if i >= len(SPECIALS) else special

    def decode(self, ids) -> str:
        """Text of the ids up to the first EOS; other special tokens are dropped."""
        return self.separator.join(self.symbol(i) for i in content_ids(ids))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "alphabet": self.alphabet}


class WordTokenizer(CharTokenizer):
    """One token per word or punctuation mark, lower-cased, over a task's fixed vocabulary (the
    story tasks): `Ben has 3 marbles.` is `ben has 3 marbles .`.

    A story answered in place needs one answer token per question token: a word per token keeps
    the stories short (about 7 tokens an event, not 35 characters), so the loop's reach (window x
    layers x iterations) covers an event in about one iteration. Words outside the vocabulary map
    to <unk>; the tokenizer travels in the checkpoint like the others."""

    kind = "word"
    separator = " "

    def __init__(self, words):
        super().__init__(tuple(words))

    def pieces(self, text: str) -> list[str]:
        return word_pieces(text)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "words": list(self.alphabet)}


def _default_alphabet() -> str:
    return "".join(c for c in string.printable if c.isprintable())


class BPETokenizer:
    """Byte-level BPE (HF `tokenizers`) trained on a task's text, digits one per token.

    Splitting every digit keeps numbers compositional (the model sees 1, 2, 3, not
    a learned "123"); byte-level pieces make any text encodable and `decode`
    exact. The special tokens hold ids 0..3, as in every tokenizer here.
    """

    kind = "bpe"

    def __init__(self, tokenizer):
        self._tok = tokenizer
        for i, special in enumerate(SPECIALS):
            if tokenizer.token_to_id(special) != i:
                raise ValueError(f"BPE tokenizer must have {special} at id {i}")

    @classmethod
    def train(cls, texts, vocab_size: int = 512) -> "BPETokenizer":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(list(texts), trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        """Text of the ids up to the first EOS; other special tokens are dropped."""
        return self._tok.decode(content_ids(ids), skip_special_tokens=False)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self._tok.to_str()}


def tokenizer_from_dict(d: dict):
    kind = d.get("kind")
    if kind == "char":
        return CharTokenizer(d["alphabet"])
    if kind == "word":
        return WordTokenizer(d["words"])
    if kind == "bpe":
        from tokenizers import Tokenizer
        return BPETokenizer(Tokenizer.from_str(d["json"]))
    raise ValueError(f"unknown tokenizer kind {kind!r} (known: 'char', 'word', 'bpe')")


def build_tokenizer(kind: str, texts=(), vocab_size: int = 512):
    """The tokenizer a DataConfig names; BPE is trained on `texts` (the training split)."""
    if kind == "char":
        return CharTokenizer()
    if kind == "bpe":
        return BPETokenizer.train(texts, vocab_size)
    if kind == "word":
        raise ValueError("the word tokenizer takes its words from a task that has a vocabulary (math_story, logic_story)")
    raise ValueError(f"unknown tokenizer {kind!r}; choose 'char', 'word' or 'bpe'")
