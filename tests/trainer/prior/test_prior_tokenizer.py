"""The organism's char-level tokenizer: lossless, saved and reloaded like any checkpoint's tokenizer."""

import random
import string

import pytest

from trainer.prior.tokenizer import EOS, PAD, TAGS, build_tokenizer


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def test_round_trips_random_printable_text(tok):
    rng = random.Random(0)
    for _ in range(200):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_task_and_judge_strings_round_trip_with_tags_as_single_tokens(tok):
    text = "nums 3 5 7 target 22\n<think> 3*5=15 15+7=22 </think> <answer>3*5+7</answer>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    pieces = tok.convert_ids_to_tokens(ids)
    assert "<think>" in pieces and "<answer>" in pieces and "</answer>" in pieces
    judge = "verify nums 3 5 target 8 answer 3+5\n 3+5=8 nums ok \\boxed{True}"
    assert tok.decode(tok(judge)["input_ids"]) == judge
    assert set(TAGS) <= set(tok.get_vocab())


def test_special_tokens_and_no_chat_template(tok):
    assert tok.pad_token == PAD and tok.eos_token == EOS and tok.pad_token_id != tok.eos_token_id
    assert tok.bos_token is None and not getattr(tok, "chat_template", None)
    assert tok("12")["input_ids"] == tok("12", add_special_tokens=False)["input_ids"]  # nothing is prepended
    ids = tok("7+8")["input_ids"] + [tok.eos_token_id, tok.pad_token_id]
    assert tok.decode(ids, skip_special_tokens=True) == "7+8"


def test_unknown_characters_become_unk_not_an_error(tok):
    ids = tok("3é4", add_special_tokens=False)["input_ids"]
    assert len(ids) == 3 and ids[1] == tok.unk_token_id


def test_save_and_reload_with_autotokenizer(tok, tmp_path):
    from transformers import AutoTokenizer

    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = "nums 10 2 target 5\n<think> 10/2=5 </think> <answer>10/2</answer>"
    assert again(text)["input_ids"] == tok(text)["input_ids"]
    assert again.decode(again(text)["input_ids"]) == text
    assert again.pad_token_id == tok.pad_token_id and again.eos_token_id == tok.eos_token_id
