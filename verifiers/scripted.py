"""A verifier that misbehaves on command (sleep, spin, exit, segv, raise, alloc): the double that pool tests drive.

Not a built-in: a test registers it (as ``scripted``) through a temporary entry point. It ships in the package,
not under tests/, because pool workers (forkserver) and Ray actors import it by module path at run time, and
only the installed packages are sure to be on their path.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, ClassVar

from verifiers.base import TaskItem, Verdict, Verifier

TARGET = "verifiers.scripted:ScriptedVerifier"


class ScriptedVerifier(Verifier):
    """Correct iff the completion equals ``item["answer"]``; commands misbehave on purpose.

    ``sleep:S`` sleeps S seconds then scores correct; ``spin`` loops forever holding the CPU; ``exit:N`` ends
    the process with code N; ``segv`` kills it with SIGSEGV; ``raise`` raises RuntimeError; ``alloc:MB``
    allocates MB megabytes then scores correct.
    """

    name: ClassVar[str] = "scripted"
    default_timeout: ClassVar[float] = 2.0

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        return [({"answer": "42"}, "42"), ({"answer": "x"}, "x")]

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        command, _, arg = completion.partition(":")
        if command == "sleep" and arg:
            time.sleep(float(arg))
            return Verdict.correct(f"slept {arg}s")
        if completion == "spin":
            while True:
                pass
        if command == "exit" and arg:
            os._exit(int(arg))
        if completion == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        if command == "alloc" and arg:
            block = bytearray(int(arg) * 2**20)
            return Verdict.correct(f"allocated {len(block) >> 20} MB")
        if completion == "raise":
            raise RuntimeError("scripted failure")
        if completion.strip() == str(item["answer"]):
            return Verdict.correct()
        return Verdict.incorrect(f"expected {item['answer']!r}")
