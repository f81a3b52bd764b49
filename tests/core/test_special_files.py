"""Only regular files are read, and only up to the size cap: a FIFO, a device or a socket is
refused without being opened, and a folder walk neither opens them nor loops on symlinks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import bot.core.sources as sources
from bot.core.sources import iter_files, load_path
from tests.core.deadline import finishes_within

GOOD = "Ether falls\n\nEther fell 4% on Wednesday as ETF outflows continued."


def test_a_fifo_named_directly_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "news.json"
    os.mkfifo(fifo)

    with finishes_within(5, "loading a FIFO nobody writes to"):
        result = load_path(fifo)

    assert result.documents == []
    [problem] = result.problems
    assert "FIFO" in problem and "not a regular file" in problem


def test_a_socket_named_directly_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))

        result = load_path(path)

    [problem] = result.problems
    assert "socket" in problem and "not a regular file" in problem


def load_in_a_child(path: str) -> dict[str, object]:
    """load_path in a child process with 1 GB of memory and 30 s: reading /dev/zero for ever
    fails the test instead of hanging it or filling the machine's memory."""
    code = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pathlib import Path\n"
        "from bot.core.sources import load_path\n"
        "result = load_path(Path(sys.argv[1]))\n"
        "print(json.dumps({'documents': len(result.documents), 'problems': result.problems}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, path],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_ingesting_dev_zero_is_refused_instead_of_read_for_ever() -> None:
    report = load_in_a_child("/dev/zero")

    assert report["documents"] == 0
    [problem] = report["problems"]  # type: ignore[misc]
    assert "character device" in problem and "not a regular file" in problem


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")

    report = load_in_a_child(str(link))

    assert report["documents"] == 0
    assert "not a regular file" in str(report["problems"])


def test_a_folder_walk_skips_special_files_and_does_not_follow_symlink_loops(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.txt").write_text(GOOD)
    os.mkfifo(tmp_path / "sub" / "pipe.txt")
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "zero.md").symlink_to("/dev/zero")

    with finishes_within(5, "walking a folder with a FIFO and symlink loops"):
        files = list(iter_files([tmp_path]))
        results = [load_path(path) for path in files]

    assert files == [tmp_path / "sub" / "good.txt"]
    assert [len(r.documents) for r in results] == [1]


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs /proc")
def test_a_file_longer_than_its_size_said_is_cut_off_at_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/proc files say they are 0 bytes long, like a file that grows while it is read: the
    read stops at the cap, whatever the size said."""
    assert Path("/proc/cpuinfo").stat().st_size == 0
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 64)

    result = load_path(Path("/proc/cpuinfo"))

    assert result.documents == []
    [problem] = result.problems
    assert "over the" in problem and "limit" in problem
