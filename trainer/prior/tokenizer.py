"""A character-level tokenizer for the tiny model organisms, as a real ``PreTrainedTokenizerFast``.

Every printable ASCII character (plus newline and tab) is one token; a few tags that the task and
judge formats repeat (``<think>``, ``</answer>``, ``\\boxed{``...) are single tokens, which shortens
sequences. Unknown characters map to ``<unk>``. There is no chat template, so trainers use plain prompts.
"""

from __future__ import annotations

import string

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
TAGS = ("<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "True", "False", "nums", "target", "verify", "answer")
"""Multi-character strings encoded as one token each (matched before single characters)."""
CHARS = tuple(dict.fromkeys(string.printable))  # digits, letters, punctuation, space, \t \n \r \x0b \x0c


def build_tokenizer(model_max_length: int = 1024):
    """A fresh char-level ``PreTrainedTokenizerFast`` with pad/eos/unk set and no BOS or chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((PAD, EOS, UNK, *CHARS))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=model_max_length,
        padding_side="left", clean_up_tokenization_spaces=False,
    )
    tok.add_tokens(list(TAGS))
    return tok
