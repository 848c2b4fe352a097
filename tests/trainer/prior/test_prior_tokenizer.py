"""The organism's tokenizer: the corpus's characters and tags only, lossless on the corpus, saved like any checkpoint's."""

import pytest

from trainer.prior.config import PriorConfig
from trainer.prior.corpus import build_corpus
from trainer.prior.tokenizer import EOS, PAD, TAGS, build_tokenizer


@pytest.fixture(scope="module")
def texts():
    rows, _ = build_corpus(PriorConfig(corpus_problems=300), set())
    return [r["prompt"] + r["completion"] for r in rows]


@pytest.fixture(scope="module")
def tok(texts):
    return build_tokenizer(texts)


def test_vocabulary_is_what_the_corpus_uses(tok, texts):
    assert len(tok) < 140  # pad, eos, unk, numbers 0..99, ~10 other characters, 15 tags: only what the corpus uses
    used = set()
    for text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text and tok.unk_token_id not in ids
        used.update(ids)
    assert set(range(len(tok))) - used == {tok.pad_token_id, tok.eos_token_id, tok.unk_token_id}


def test_task_and_judge_strings_have_tags_as_single_tokens(tok):
    text = "nums 3 5 7 target 22\n<think> 22+7=29-5=24-3=21 miss 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>"
    pieces = tok.convert_ids_to_tokens(tok(text)["input_ids"])
    assert {"<think>", "<answer>", "</answer>", "hit", "miss", "nums", "target"} <= set(pieces)
    judge = "verify nums 3 5 target 8 answer 3+5\n nums 3 5 ok 8-5=3-3=0 hit \\boxed{True}"
    assert tok.decode(tok(judge)["input_ids"]) == judge and set(TAGS) <= set(tok.get_vocab())


def test_special_tokens_and_no_chat_template(tok):
    assert tok.pad_token == PAD and tok.eos_token == EOS and tok.pad_token_id != tok.eos_token_id
    assert tok.bos_token is None and not getattr(tok, "chat_template", None)
    assert tok("12")["input_ids"] == tok("12", add_special_tokens=False)["input_ids"]  # nothing is prepended
    ids = tok("7+8")["input_ids"] + [tok.eos_token_id, tok.pad_token_id]
    assert tok.decode(ids, skip_special_tokens=True) == "7+8"


def test_characters_outside_the_corpus_become_unk_not_an_error(tok):
    ids = tok("3é4x", add_special_tokens=False)["input_ids"]
    assert len(ids) == 4 and ids[1] == ids[3] == tok.unk_token_id


def test_save_and_reload_with_autotokenizer(tok, tmp_path):
    from transformers import AutoTokenizer

    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = "nums 8 2 target 4\n<think> 4*2=8-8=0 hit </think> <answer>8/2</answer>"
    assert again(text)["input_ids"] == tok(text)["input_ids"] and again.decode(again(text)["input_ids"]) == text
    assert again.pad_token_id == tok.pad_token_id and again.eos_token_id == tok.eos_token_id


def test_numbers_are_single_tokens_and_any_digit_run_round_trips(tok):
    assert tok.convert_ids_to_tokens(tok("15+7=22")["input_ids"]) == ["15", "+", "7", "=", "22"]
    for text in ("123", "9999", "0", "1 23 456"):
        assert tok.decode(tok(text)["input_ids"]) == text
