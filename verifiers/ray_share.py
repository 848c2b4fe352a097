"""One Ray instance and one set of verifier actors per job, shared by the job's processes (``share=<job key>``).

Without a cluster address, the first process of a node to ask starts Ray and leaves its address in a private
file (``$TMPDIR/urlvr-ray-<uid>/<key>.addr``, mode 0600); the node's other processes join that instance with the
user's Ray token, as Ray does for a local cluster it finds, instead of starting their own (about 0.1 s instead of 5 s and 0.9 GB each). With an address, every
process joins that cluster. Actors are then named in the namespace ``urlvr-<key>``, so each process finds the
ones the first created (``get_if_exists``) and the job holds ``workers`` actors, not ``workers`` per process.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import ray

POLL_SECONDS = 0.05
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def ensure_ray(address: str | None = None, share: str | None = None, timeout: float = 120.0) -> None:
    """Start or join Ray unless this process is already connected (``share``: the node's instance for that job)."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **quiet)
    elif share:
        start_or_join(share, timeout, ray.init, **quiet)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, **quiet)


def check_key(share: str) -> str:
    """The job key as given; one line naming the rule if it cannot name files and actors."""
    if not _KEY.fullmatch(share):
        raise ValueError(f"share={share!r}: a job key is 1-80 letters, digits, '_', '.' or '-'")
    return share


def namespace(share: str) -> str:
    return f"urlvr-{check_key(share)}"


def share_dir() -> Path:
    """This user's folder for the address files (0700)."""
    folder = Path(tempfile.gettempdir()) / f"urlvr-ray-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def start_or_join(share: str, timeout: float, init: Any, **init_kwargs: Any) -> bool:
    """Start this node's Ray for job ``share`` (True) or join the one another process started (False).

    ``init`` is ``ray.init``. Raises ``RuntimeError`` naming the file when the starter never published its
    address within ``timeout`` or the instance it names is gone (a stale file from a job that died).
    """
    folder = share_dir()
    lock, addr = folder / f"{check_key(share)}.lock", folder / f"{share}.addr"
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        _join(addr, lock, timeout, init, init_kwargs)
        return False
    atexit.register(_remove, lock, addr)
    init(num_cpus=os.cpu_count() or 1, **init_kwargs)  # a new local instance: Ray's own token auth (~/.ray/auth_token)

    staged = addr.with_suffix(".tmp")
    fd = os.open(staged, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ray.get_runtime_context().gcs_address + "\n")
    os.replace(staged, addr)
    return True


def _join(addr: Path, lock: Path, timeout: float, init: Any, init_kwargs: dict[str, Any]) -> None:
    deadline = time.monotonic() + timeout
    while not addr.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the process that holds {lock} did not publish a Ray address within {timeout:g}s; "
                               f"if no job with this key is running, remove {lock}")
        time.sleep(POLL_SECONDS)
    where = addr.read_text().strip()
    _token_auth_as_for_a_local_cluster()
    try:
        init(address=where, **init_kwargs)
    except ConnectionError as exc:
        raise RuntimeError(f"cannot join the Ray instance named in {addr} ({exc}); if no job with this key is "
                           f"running, remove {addr} and {lock}") from None


def _token_auth_as_for_a_local_cluster() -> None:
    """Use the user's Ray token, as ``ray.init()`` does for a cluster it finds itself (it does not for an
    explicit address); this user's own local instance was started with that token."""
    try:
        from ray._private.authentication.authentication_token_setup import maybe_enable_token_auth_if_token_available
    except ImportError:  # a Ray without token auth
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass
