"""Tokenizers. Every tokenizer turns text into ids and back, and serialises itself
to a plain dict so that it travels inside every checkpoint.

Ids 0..3 are the special tokens in every tokenizer: PAD, EOS, SEP, UNK.
"""
from __future__ import annotations

import string

SPECIALS = ("<pad>", "<eos>", "<sep>", "<unk>")
PAD, EOS, SEP, UNK = range(4)


class CharTokenizer:
    """One token per character over a fixed alphabet (printable ASCII by default).

    A fixed alphabet makes ids independent of the training data, so a checkpoint can
    read any task's text; characters outside it map to <unk>.
    """

    kind = "char"

    def __init__(self, alphabet: str | None = None):
        self.alphabet = alphabet if alphabet is not None else _default_alphabet()
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError("tokenizer alphabet has repeated characters")
        self._id = {c: i + len(SPECIALS) for i, c in enumerate(self.alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.alphabet)

    def encode(self, text: str) -> list[int]:
        return [self._id.get(c, UNK) for c in text]

    def decode(self, ids) -> str:
        """Text of the ids up to the first EOS; other special tokens are dropped."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.alphabet[i - len(SPECIALS)])
        return "".join(out)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "alphabet": self.alphabet}


def _default_alphabet() -> str:
    return "".join(c for c in string.printable if c.isprintable())


def tokenizer_from_dict(d: dict):
    kind = d.get("kind")
    if kind == "char":
        return CharTokenizer(d["alphabet"])
    raise ValueError(f"unknown tokenizer kind {kind!r} (known: 'char')")
