"""Atomic outputs: an interrupted stage leaves nothing that looks finished."""

from __future__ import annotations

import pytest

from augaudit.files import atomic_dir, hash_path, write_json

from conftest import dead_pid


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


def test_a_live_writer_s_temp_folder_is_left_alone(tmp_path):
    """Two runs of one stage side by side: the second must not delete the first one's work in progress;
    what a dead writer left is removed."""
    import os

    live = tmp_path / f".out.{os.getpid()}.abcdefgh.tmp"
    dead = tmp_path / f".out.{dead_pid()}.abcdefgh.tmp"
    parked = tmp_path / f".out.old-{dead_pid()}.abcdefgh"
    for folder in (live, dead, parked):
        folder.mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", live.name])


def test_two_writers_at_once_both_finish_and_leave_one_whole_output(tmp_path):
    import threading

    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "who.txt").write_text("first")
    barrier = threading.Barrier(2)
    errors = []

    def write(name):
        try:
            with atomic_dir(out) as tmp:
                for i in range(50):
                    (tmp / f"{i}.txt").write_text(name)
                (tmp / "who.txt").write_text(name)
                barrier.wait()  # both swap at the same moment
        except Exception as e:  # collected: an assertion in a thread would be lost
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    who = (out / "who.txt").read_text()
    assert who in {"a", "b"} and {(out / f"{i}.txt").read_text() for i in range(50)} == {who}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("kind", ["file", "link"])
def test_an_output_where_a_file_or_link_stood_leaves_nothing_behind(tmp_path, kind):
    """A file (or a link) named like the output is replaced by the output folder; what was parked is
    removed whatever it was, and so is a file a dead writer parked."""
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("in the way")
    else:
        (tmp_path / "elsewhere").mkdir()
        out.symlink_to(tmp_path / "elsewhere")
    from conftest import dead_pid

    (tmp_path / f".out.old-{dead_pid()}.abcdefgh").write_text("parked by a killed writer")
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("done")
    assert (out / "a.txt").read_text() == "done" and not out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out"] + (["elsewhere"] if kind == "link" else []))
