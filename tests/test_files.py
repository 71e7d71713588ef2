"""Atomic outputs: an interrupted stage leaves nothing that looks finished."""

from __future__ import annotations

import pytest

from augaudit.files import atomic_dir, hash_path, write_json


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (out / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("killed mid-stage")
    assert (out / "a.txt").read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folder left behind


def test_hash_ignores_tool_caches_and_is_stable(tmp_path):
    write_json(tmp_path / "x.json", {"b": 1, "a": 2})
    h = hash_path(tmp_path)
    (tmp_path / "labels.cache").write_bytes(b"ultralytics")
    (tmp_path / ".snakemake_timestamp").write_bytes(b"")
    assert hash_path(tmp_path) == h
    (tmp_path / "y.txt").write_text("data")
    assert hash_path(tmp_path) != h
