"""Where ``trainer.eval`` and ``trainer.probe`` get completions: a local model, an OpenAI-compatible endpoint, or a JSONL file.

Every source turns task rows into ``n`` :class:`Sample` s per row, and offers a greedy ``judge`` for ``self_verify``
(None when it has none). Only a local model gives per-token policy statistics (for the intrinsic rewards).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewards.judges import CallableJudge, EndpointError, EndpointJudge, Judge
from tasks.base import Task


@dataclass
class Sample:
    """One completion of one row; ``stats`` holds per-token policy statistics when the source can compute them."""

    text: str
    stats: dict[str, Any] | None = None
    tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LocalSource:
    """A transformers checkpoint (folder, HF id, organism or embedded model, already resolved) on this machine."""

    has_stats = True

    def __init__(self, path: str, task: Task, max_tokens: int, temperature: float, batch: int, judge_tokens: int,
                 chat_template: bool | None = None, seed: int = 0, device: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(seed)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype="auto").to(device).eval()
        self.task, self.max_tokens, self.temperature, self.batch = task, max_tokens, temperature, batch
        self.judge_tokens = judge_tokens
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.chat = has_template if chat_template is None else chat_template

    def sample(self, rows: list[dict[str, Any]], n: int) -> list[list[Sample]]:
        """``n`` samples of each row, with each sample's per-token statistics at the sampling temperature."""
        from trainer.generation import render_prompts
        from trainer.policy_stats import compute_policy_stats

        texts = render_prompts(self.tokenizer, [self.task.prompt(r, conversational=self.chat) for r in rows])
        drawn = sample_ids(self.model, self.tokenizer, texts, n, self.max_tokens, self.temperature)
        stats = compute_policy_stats(self.model, [d[0] for d in drawn], [d[1] for d in drawn], self.tokenizer.pad_token_id,
                                     self.temperature if self.temperature > 0 else 1.0, micro_batch=self.batch)
        flat = [Sample(text, stats=s, tokens=len(ids)) for (_, ids, text), s in zip(drawn, stats)]
        return [flat[i * n : (i + 1) * n] for i in range(len(rows))]

    def judge(self) -> Judge:
        """This model, greedy, as the self-verification judge (the policy judge of a run at step 0)."""
        from trainer.generation import generate

        def replies(prompts: list[Any]) -> list[str]:
            out = generate(self.model, self.tokenizer, prompts, n=1, max_new_tokens=self.judge_tokens, temperature=0.0,
                           batch_size=self.batch)
            return [r[0] for r in out]

        return CallableJudge(replies, chat=self.chat)


def sample_ids(model: Any, tokenizer: Any, texts: list[str], n: int, max_new_tokens: int,
               temperature: float) -> list[tuple[list[int], list[int], str]]:
    """(prompt ids, completion ids up to and including EOS, text) for ``n`` samples of each prompt text, prompt-major."""
    import torch

    enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False).to(model.device)
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    with torch.no_grad():
        seqs = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=n, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id, **sampling).cpu()
    width, eos, out = enc["input_ids"].shape[1], tokenizer.eos_token_id, []
    for row, seq in enumerate(seqs):
        ids, mask = enc["input_ids"][row // n].tolist(), enc["attention_mask"][row // n].tolist()
        comp = seq[width:].tolist()
        comp = comp[: comp.index(eos) + 1] if eos in comp else [t for t in comp if t != tokenizer.pad_token_id]
        out.append(([t for t, m in zip(ids, mask) if m], comp, tokenizer.decode(comp, skip_special_tokens=True)))
    return out


class EndpointSource:
    """An OpenAI-compatible server; requests go through :class:`rewards.judges.EndpointJudge` (timeouts, retries)."""

    has_stats = False

    def __init__(self, url: str, model: str, task: Task, max_tokens: int, temperature: float, judge_tokens: int,
                 api: str = "chat", timeout_s: float = 60.0, retries: int = 2, concurrency: int = 8):
        common = {"url": url, "model": model, "api": api, "timeout_s": timeout_s, "retries": retries, "concurrency": concurrency}
        self.client = EndpointJudge(max_tokens=max_tokens, temperature=temperature, **common)
        try:
            self.client.probe()  # one clear line now if the server is not there
        except EndpointError as exc:
            raise EndpointError(str(exc).replace("judge endpoint", "endpoint").replace("reward.endpoint.url", "model=URL")) from None
        self._judge = EndpointJudge(max_tokens=judge_tokens, temperature=0.0, **common)
        self.task = task

    def sample(self, rows: list[dict[str, Any]], n: int) -> list[list[Sample]]:
        """``n`` requests per row; a request that failed after its retries gives a sample with ``extra.error``."""
        prompts = [self.task.prompt(r, conversational=self.client.chat) for r in rows for _ in range(n)]
        replies = self.client(prompts)
        flat = [Sample(r or "", extra={} if r is not None else {"error": self.client.last_error or "no reply"}) for r in replies]
        return [flat[i * n : (i + 1) * n] for i in range(len(rows))]

    def judge(self) -> Judge:
        return self._judge


class JsonlSource:
    """Completions already made: one JSON object per line, the row's fields plus ``completion`` (and optionally ``id``)."""

    has_stats = False

    def __init__(self, path: str | Path):
        self.groups: dict[str, list[str]] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("completion"), str):
                raise ValueError(f"{path}:{lineno}: expected an object with a string 'completion'")
            row = {k: v for k, v in record.items() if k not in ("completion", "id")}
            key = str(record["id"]) if "id" in record else json.dumps(row, sort_keys=True, default=str)
            self.rows.setdefault(key, row)
            self.groups.setdefault(key, []).append(record["completion"])

        self._keys = {id(row): key for key, row in self.rows.items()}

    def task_rows(self) -> list[dict[str, Any]]:
        """The distinct rows, in file order."""
        return list(self.rows.values())

    def sample(self, rows: list[dict[str, Any]], n: int | None = None) -> list[list[Sample]]:
        """Every completion the file holds for each row (``n`` is ignored: the file decides)."""
        out = []
        for row in rows:
            out.append([Sample(text) for text in self.groups[self._keys[id(row)]]])
        return out

    def judge(self) -> Judge | None:
        return None
