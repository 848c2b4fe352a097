"""Whether a TRL checkpoint folder is whole: every file ``Trainer.train(resume_from_checkpoint=...)`` reads.

A kill -9 or a full disk can leave a folder with a truncated ``trainer_state.json`` or weights. Such a folder
must not be resumed from (the run would crash, or silently restart its optimizer), so each file is checked
by its own format: JSON parses, safetensors' header matches the file size, torch's zip files have their
central directory. Cheap: headers and file ends only, never the tensors.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

WEIGHTS = ("model.safetensors", "adapter_model.safetensors", "pytorch_model.bin", "adapter_model.bin")
INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
REQUIRED = ("optimizer.pt", "scheduler.pt")
"""Saved by the trainer beside the weights; without them a resume restarts the optimizer and the schedule."""
OPTIONAL = ("rng_state.pth", "scaler.pt", "training_args.bin")
"""Read when present; a truncated one would crash the resume."""
MAX_HEADER = 100 * 2**20


def checkpoint_problem(folder: Path, step: int) -> str | None:
    """Why ``folder`` (checkpoint-``step``) cannot be resumed from, or None when it is complete."""
    problem = _state_problem(folder / "trainer_state.json", step) or _weights_problem(folder)
    if problem:
        return problem
    for name in REQUIRED:
        if not (folder / name).is_file():
            return f"{name} missing"
    for name in (*REQUIRED, *OPTIONAL):
        if (folder / name).is_file() and not zipfile.is_zipfile(folder / name):
            return f"{name} truncated or not a torch file"
    return None


def _state_problem(path: Path, step: int) -> str | None:
    if not path.is_file():
        return "trainer_state.json missing"
    try:
        state = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        return "trainer_state.json truncated or not JSON"
    if not isinstance(state, dict) or state.get("global_step") != step:
        return f"trainer_state.json does not record global_step {step}"
    return None


def _weights_problem(folder: Path) -> str | None:
    for name in WEIGHTS:
        if (folder / name).is_file():
            return _file_problem(folder / name)
    for name in INDEXES:
        if (folder / name).is_file():
            return _index_problem(folder / name)
    return f"no model weights ({', '.join(WEIGHTS)})"


def _file_problem(path: Path) -> str | None:
    ok = safetensors_whole(path) if path.suffix == ".safetensors" else zipfile.is_zipfile(path)
    return None if ok else f"{path.name} truncated or corrupt"


def _index_problem(index: Path) -> str | None:
    try:
        shards = set(json.loads(index.read_bytes())["weight_map"].values())
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return f"{index.name} truncated or not a weight index"
    for shard in sorted(shards):
        path = index.parent / str(shard)
        if not path.is_file():
            return f"{shard} missing (listed in {index.name})"
        problem = _file_problem(path)
        if problem:
            return problem
    return None


def safetensors_whole(path: Path) -> bool:
    """True when the safetensors header parses and its last tensor ends exactly at the end of the file."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > min(size - 8, MAX_HEADER):
                return False
            header = json.loads(f.read(length))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (struct.error, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return False
    return all(isinstance(e, int) for e in ends) and 8 + length + max(ends, default=0) == size
