"""The organisms' tokenizer: only what the corpus uses, as a real ``PreTrainedTokenizerFast``.

The vocabulary is pad, eos and unk, the numbers 0..99 that occur in the corpus as one token each (a longer
digit run splits into pieces of two, so any digits round-trip), the other characters that occur
(``+-*/=()``, space, newline, ``}``), and the words the task and judge formats repeat (``<think>``,
``</answer>``, ``\\boxed{``, ``True``, ``nums``, ``hit`` ...) as single tokens: about 130 tokens, all used, so
self-certainty (KL from uniform) measures how peaked the model is over plausible tokens. A number as one
token makes copying it one attention step and each chain step (``15+7=22``) one lookup. Any other character
maps to ``<unk>``. There is no chat template, so trainers use plain prompts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
TAGS = ("<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "True", "False", "nums", "target", "verify",
        "answer", "hit", "miss", "ok", "bad")
"""Multi-character strings encoded as one token each (matched before single characters)."""
BASE_CHARS = "0123456789+-*/=() \n}"
"""Characters every organism can write, whatever its corpus happens to hold."""
_PIECE = r"\d{1,2}|[\s\S]"


def corpus_pieces(texts: Iterable[str]) -> list[str]:
    """The pieces (numbers up to two digits, other characters) of ``texts`` outside the tags, with :data:`BASE_CHARS`."""
    seen = set(BASE_CHARS)
    piece = re.compile(_PIECE)
    for text in texts:
        for tag in TAGS:
            text = text.replace(tag, " ")
        seen.update(piece.findall(text))
    return sorted(seen, key=lambda p: (p.isdigit(), int(p) if p.isdigit() else 0, p))


def _known_numbers_first(pieces: list[str]) -> str:
    """The split pattern: the two-digit numbers of the vocabulary, else one digit, else one character.

    So a digit run always splits into pieces the vocabulary has (``99`` -> ``9`` ``9`` when the corpus never
    wrote 99) and round-trips.
    """
    numbers = sorted((p for p in pieces if p.isdigit() and len(p) == 2), reverse=True)
    return "|".join([*numbers, r"\d", r"[\s\S]"])


def build_tokenizer(texts: Iterable[str] = (), model_max_length: int = 256):
    """A fresh ``PreTrainedTokenizerFast`` over the pieces of ``texts`` plus the tags; no BOS, no chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pieces = corpus_pieces(texts)
    vocab = {tok: i for i, tok in enumerate((PAD, EOS, UNK, *pieces))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(_known_numbers_first(pieces)), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=model_max_length,
        padding_side="left", clean_up_tokenization_spaces=False,
    )
    tok.add_tokens(list(TAGS))
    return tok
