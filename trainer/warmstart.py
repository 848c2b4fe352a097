"""CLI: build (or find in the cache) a tiny model organism with a controlled prior.

``python -m trainer.warmstart task=countdown prior=aligned judge_rows=4000 sft.epochs=6 model.hidden_size=128``

``prior`` is ``aligned`` or ``misaligned`` (the presets ``tiny-countdown`` and ``tiny-countdown-misaligned``) or
another preset name such as ``tiny-countdown-test``; every other
``key=value`` is a field of ``trainer.prior.config.PriorConfig`` (dotted for ``model.*`` and ``sft.*``; a
``prior.`` prefix is optional, as in ``prior.slice_share=0.15``). ``task`` must be ``countdown``.
``out=DIR`` writes there instead of the cache; ``force=true`` rebuilds; ``threads=N`` fixes torch threads (default:
as many as help, see ``trainer.prior.sft``); ``ship=true`` (or ``--ship``) builds into the folder that ships with
urlvr (``trainer/prior/organisms/<name>/``, used by ``trainer.models`` before the cache). Prints the folder and the card.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trainer.prior.config import PRESETS, PriorConfig, preset


ALIGNMENTS = {"aligned": "tiny-countdown", "misaligned": "tiny-countdown-misaligned"}
"""``prior=aligned`` / ``prior=misaligned``: the shipped presets (the misaligned one also trains an epoch more)."""


class UsageError(ValueError):
    """A bad command line; the message says what is valid."""


def parse_args(argv: list[str]) -> tuple[PriorConfig, dict[str, Any]]:
    """``key=value`` words -> (PriorConfig, run options ``out``/``force``)."""
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {"out": None, "force": False, "threads": None, "ship": False}
    base = "tiny-countdown"
    for word in argv:
        key, sep, value = word.partition("=") if word != "--ship" else ("ship", "=", "true")
        if not sep:
            raise UsageError(f"expected key=value, got {word!r}")
        key = key.removeprefix("prior.")  # prior.accuracy=0.5 and accuracy=0.5 are the same knob
        if key == "prior":
            if value in PRESETS:
                base = value
            elif value in ALIGNMENTS:
                base = ALIGNMENTS[value]
            else:
                raise UsageError(f"prior={value!r}: use aligned, misaligned or a preset ({', '.join(PRESETS)})")
        elif key in options:
            options[key] = {"force": _flag, "ship": _flag, "threads": int}.get(key, str)(value)
        else:
            _set(fields, key.split("."), _scalar(value))
    try:
        return preset(base, **fields), options
    except ValidationError as exc:
        valid = ", ".join(sorted(PriorConfig.model_fields))
        raise UsageError(f"invalid prior config ({exc.error_count()} problem(s)):\n{exc}\nvalid keys: prior, out, force, threads, ship, {valid}") from None


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def ship(prior: PriorConfig, threads: int | None = None, root: Path | None = None, log: Any = print) -> Path:
    """Build ``prior`` into the shipped location (``root``, default ``trainer.models.SHIPPED_DIR``), replacing it.

    Returns ``root/<prior.folder_name()>``; raises if the build's card does not match ``prior`` (nothing replaced).
    """
    from trainer.models import SHIPPED_DIR, shipped_mismatch
    from trainer.prior.build import build

    root = root or SHIPPED_DIR
    root.mkdir(parents=True, exist_ok=True)
    target = root / prior.folder_name()
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
        staging = Path(tmp) / "model"
        card = build(prior, staging, log=log, threads=threads)
        if "digest" not in card:  # cards before corpus version 5 did not record it
            (staging / "card.json").write_text(json.dumps({**card, "digest": prior.digest()}, indent=2) + "\n")
        problem = shipped_mismatch(staging, prior)
        if problem:
            raise RuntimeError(f"the build in {staging} cannot ship: {problem}")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> Path:
    from trainer.prior.build import build, ensure_organism

    try:
        prior, options = parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        sys.exit(f"warmstart: {exc}")
    if options["ship"]:
        folder = ship(prior, threads=options["threads"])
    elif options["out"]:
        folder = Path(options["out"]).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        build(prior, folder, threads=options["threads"])
        (folder / ".complete").write_text(prior.model_dump_json() + "\n")
    else:
        folder = ensure_organism(prior, force=options["force"], threads=options["threads"])
    print(f"warmstart: organism at {folder}")
    print((folder / "README.md").read_text())
    return folder


if __name__ == "__main__":
    main()
