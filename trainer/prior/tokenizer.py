"""The organisms' tokenizer: only what the corpus uses, as a real ``PreTrainedTokenizerFast``.

The vocabulary is pad, eos and unk, the characters that occur in the corpus (digits, ``+-*/=()``, space,
newline, ``}``), and the words the task and judge formats repeat (``<think>``, ``</answer>``, ``\\boxed{``,
``True``, ``nums``, ``hit`` ...) as single tokens: about 35 tokens, so self-certainty (KL from uniform)
measures how peaked the model is over plausible tokens. Any other character maps to ``<unk>``. There is no
chat template, so trainers use plain prompts.
"""

from __future__ import annotations

from collections.abc import Iterable

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
TAGS = ("<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "True", "False", "nums", "target", "verify",
        "answer", "hit", "miss", "ok", "bad")
"""Multi-character strings encoded as one token each (matched before single characters)."""
BASE_CHARS = "0123456789+-*/=() \n}"
"""Characters every organism can write, whatever its corpus happens to hold."""


def corpus_chars(texts: Iterable[str]) -> list[str]:
    """The characters of ``texts`` outside the tags, with :data:`BASE_CHARS`, in a fixed order."""
    seen = set(BASE_CHARS)
    for text in texts:
        for tag in TAGS:
            text = text.replace(tag, " ")
        seen.update(text)
    return sorted(seen)


def build_tokenizer(texts: Iterable[str] = (), model_max_length: int = 256):
    """A fresh ``PreTrainedTokenizerFast`` over the characters of ``texts`` plus the tags; no BOS, no chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((PAD, EOS, UNK, *corpus_chars(texts)))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=model_max_length,
        padding_side="left", clean_up_tokenization_spaces=False,
    )
    tok.add_tokens(list(TAGS))
    return tok
