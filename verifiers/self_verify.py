"""Old home of the judge prompt and reply helpers (prompt building, not a verifier): a re-export, no code.

Kept only while trainer/prior/card.py, trainer/prior/corpus.py and tests/trainer/prior/ import it; delete it then.

New code imports :mod:`verifiers.judge_prompt` (prompts, normalisation, injection check) and
:mod:`verifiers.judge_reply` (verdict parsing).
"""

from verifiers.judge_prompt import (
    COMPACT_VERIFY_PROMPT,
    VERIFY_PROMPT,
    PromptStyle,
    answer_injects_verdict,
    build_verify_prompt,
    normalize,
)
from verifiers.judge_reply import ParseMode, parse_judgement

__all__ = [
    "COMPACT_VERIFY_PROMPT", "VERIFY_PROMPT", "ParseMode", "PromptStyle",
    "answer_injects_verdict", "build_verify_prompt", "normalize", "parse_judgement",
]
