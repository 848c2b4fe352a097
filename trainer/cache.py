"""Where urlvr keeps what it builds or converts once (models, organisms): one place, imported by both users of it."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "URLVR_CACHE"


def cache_dir() -> Path:
    """``$URLVR_CACHE``, else ``$XDG_CACHE_HOME/urlvr``, else ``~/.cache/urlvr``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "urlvr"
