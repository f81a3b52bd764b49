"""Shared fixtures: one embedding model per session, real Chroma stores under tmp_path."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.core import network
from bot.core.embed import MiniLMEmbeddings
from bot.services import Services, build_services
from bot.settings import PROJECT_ROOT, Settings
from bot.state import State, open_state
from tests.discord_fake import FakeDiscord, serving
from tests.news_files import GOOD_FILES
from tests.postgres import PostgresServer, missing_reason

MakeServices = Callable[..., Services]


@pytest.fixture(scope="session", autouse=True)
def offline_and_isolated() -> Iterator[None]:
    """No test may reach the network or pick up the developer's MARKETBOT_* settings."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MARKETBOT_")}
    for key in saved:
        del os.environ[key]
    network.forbid_remote_connections()
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session", autouse=True)
def stop_local_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop the data dirs' Chroma servers that the tests' processes started, instead of
    leaving each to stop when idle."""
    yield
    stop_servers_under(tmp_path_factory.getbasetemp())


def stop_servers_under(folder: Path) -> None:
    for info in folder.rglob("chroma-server.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            os.kill(int(json.loads(info.read_text())["pid"]), signal.SIGTERM)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this session's own on 127.0.0.1 (skips, saying why, where the
    machine has none)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # Not under pytest's temp dir: that is private to this user, and the server may run as
    # the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="marketbot-pg-"))
    server = PostgresServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """An empty database of this test's own, as MARKETBOT_DATABASE_URL takes it."""
    name = "t_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return postgres.new_database(name)


StateTarget = tuple[Path, str | None]  # a data dir, and a database URL or None for SQLite


@pytest.fixture(params=["sqlite", "postgresql"])
def state_target(request: pytest.FixtureRequest, tmp_path: Path) -> StateTarget:
    """Where the shared state lives, once for each implementation."""
    if request.param == "sqlite":
        return tmp_path / "data", None
    return tmp_path / "data", request.getfixturevalue("database_url")


def another_host(target: StateTarget, name: str) -> State:
    """The state as another process sees it: with PostgreSQL, from a data dir of its own (as
    on another host); with SQLite, the same data dir (one host)."""
    data_dir, url = target
    return open_state(data_dir if url is None else data_dir / name, url)


@pytest.fixture
def state(state_target: StateTarget) -> Iterator[State]:
    opened = open_state(*state_target)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def embeddings() -> MiniLMEmbeddings:
    """The real model as the bot runs it (the ONNX graph make exported, else torch), loaded
    once and shared by every store the tests build."""
    return MiniLMEmbeddings()


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test store: its own data dir, offline, no .env, bundled knowledge."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "offline": True,
        "chroma_url": None,
        # In-process tests open their store in-process (quick, one process per dir); the tests
        # of several processes and the CLI's subprocesses use the data dir's local server.
        "chroma_embedded": True,
        "knowledge_dir": PROJECT_ROOT / "knowledge",
        "prompts_dir": PROJECT_ROOT / "prompts",
        "collection_prefix": "test",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg,arg-type]


@pytest.fixture
def make_services(tmp_path: Path, embeddings: MiniLMEmbeddings) -> MakeServices:
    """Build Services as the app does, around the session's model, in a fresh data dir."""

    def make(name: str = "data", *, seed: bool = False, **overrides: object) -> Services:
        return build_services(
            settings_for(tmp_path / name, **overrides), seed=seed, embeddings=embeddings
        )

    return make


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """A store holding only the bundled seed corpus. Read-only: tests must not write to it."""
    return build_services(
        settings_for(tmp_path_factory.mktemp("seeded")), seed=True, embeddings=embeddings
    )


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """The seed corpus plus every good fixture file. Read-only: tests must not write to it."""
    services = build_services(
        settings_for(tmp_path_factory.mktemp("corpus")), seed=True, embeddings=embeddings
    )
    report = services.ingest(list(GOOD_FILES))
    assert not report.failed, [f.problems for f in report.files]
    return services


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    """Discord's REST API on 127.0.0.1, holding every request to Discord's own description:
    a test fails if the bot sent anything Discord would refuse or show otherwise than meant."""
    async with serving(FakeDiscord()) as fake:
        yield fake
    assert not fake.violations, "\n".join(fake.violations)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server process on 127.0.0.1, with its own empty store."""
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
