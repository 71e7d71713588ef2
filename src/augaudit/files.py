"""Atomic output writing and content hashing.

Every stage writes into a temporary sibling and renames it into place, so an interrupted run never
leaves a half-written output that looks finished to Snakemake or DVC.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Files tools leave inside outputs that are not data (Ultralytics' label cache, Snakemake's
# directory-output timestamp); never hashed. .dvcignore lists the same.
IGNORED_SUFFIXES = (".cache", ".snakemake_timestamp")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file atomically: temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: object) -> None:
    """JSON with sorted keys and a trailing newline, so equal content gives equal bytes."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: str | Path, frame) -> None:
    """A pandas frame as parquet, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    write_bytes(path, sink.getvalue().to_pybytes())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _stale_siblings(final: Path) -> list[Path]:
    """What a killed writer of `final` left beside it: its temp folders (`.<name>.<pid>.XXXXXXXX.tmp`)
    and the previous output it parked while renaming (`.<name>.old-<pid>.XXXXXXXX`) -- only those of writers
    that are no longer running, so two runs of one stage side by side never delete each other's work."""
    name = re.escape(final.name)
    pattern = re.compile(rf"\.{name}\.(?:(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp|old-(\d+)(?:\.[a-z0-9_]{{8}})?)")
    stale = []
    for p in final.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m:
            pid = m.group(1) or m.group(2)
            if pid is None or not _alive(int(pid)):
                stale.append(p)
    return stale


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield an empty temp folder; on success it replaces `final` whole, on failure it is removed.

    A SIGKILL cannot be cleaned up after, so the temp siblings a killed run of the same output left
    are removed first. Two writers of one output at once both finish; the last one's output stays,
    whole, and neither leaves anything behind.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale_siblings(final):
        _remove(stale)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp"))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.parent / f".{final.name}.old-{os.getpid()}.{tmp.name[-12:-4]}"
    while True:  # another writer may put its output in place between our two renames: park it too
        with contextlib.suppress(FileNotFoundError):
            os.replace(final, old)
        try:
            os.replace(tmp, final)
            break
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        _remove(old)
    _remove(old)


def _remove(path: Path) -> None:
    """Remove what was parked: usually a folder, a file or a link where one stood in the output's way."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_path(path: str | Path) -> str:
    """sha256 of a file, or of a folder's sorted (relative path, file hash) list, ignoring tool caches."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(IGNORED_SUFFIXES)):
        h.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


def hash_sources(folder: str | Path) -> str:
    """sha256 of a source tree's .py and .yaml files (relative path and content), caches left out."""
    folder = Path(folder)
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.suffix in {".py", ".yaml"} and "__pycache__" not in p.parts):
        h.update(f"{f.relative_to(folder).as_posix()}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()
