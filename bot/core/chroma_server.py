"""The data dir's own Chroma server, shared by every process that uses the data dir.

Chroma's embedded client keeps its index in the memory of the process that opened it and is not
made for several processes: a bot whose data dir another process writes to fails with "Error
finding id" on most questions, for good. So by default no process opens the store in-process.
The first one that needs it starts a supervisor (`python -m bot.core.chroma_server`), which runs
`chroma run` on the store's folder on 127.0.0.1; every process, the first one included, talks to
that server over HTTP. The supervisor stops the server once no process has used it for
`idle_seconds`, restarts it if it dies, and takes it down with itself if it is killed.

Files in the data dir, all small:

- `chroma-server.json`: where the running server listens (pid, port), replaced atomically;
- `chroma-owner.lock`: held by whoever has the store's files open (the supervisor and its
  `chroma run`, or a single process in embedded mode), so two owners never write the same files;
- `chroma-start.lock`: serialises starting, connecting and stopping;
- `chroma-clients.lock`: every connected process holds a shared lock on it; the supervisor
  stops the server only when it can take it exclusively (no process connected), and the kernel
  drops a killed process's lock, so a crash never keeps a server alive;
- `chroma-server.log`: the supervisor's and the server's own warnings.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout

from bot.errors import UserError

START_TIMEOUT = 60.0  # seconds a process waits for the server to start or to answer again
# The start lock is held at most while one process waits for a server (START_TIMEOUT) after
# waiting for an old one to let go of the files (OWNER_WAIT): wait for it longer than that.
OWNER_WAIT = 10.0
START_LOCK_TIMEOUT = 2 * START_TIMEOUT + OWNER_WAIT
CHECK_SECONDS = 1.0  # how often the supervisor looks at its server and its clients
HUNG_CHECKS = 10  # heartbeats in a row (2 s each) a server may miss before it is restarted
RESTARTS = 5  # a server that dies more often than this within a minute is given up
EXIT_OWNED = 3  # the supervisor's exit status when another process owns the store's files
# Proxy settings are for the outside world: none of ours may send a loopback request to one.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class StoreBusyError(UserError):
    """The store's files are open in another process that does not share them."""


@dataclass(frozen=True)
class ServerFiles:
    """The paths one data dir's server uses (see the module's docstring)."""

    data_dir: Path
    info: Path
    owner: Path
    start: Path
    clients: Path
    log: Path

    @classmethod
    def of(cls, data_dir: Path) -> ServerFiles:
        folder = Path(data_dir).resolve()
        named = {part: folder / f"chroma-{name}" for part, name in _FILE_NAMES.items()}
        return cls(folder, **named)


_FILE_NAMES = {
    "info": "server.json",
    "owner": "owner.lock",
    "start": "start.lock",
    "clients": "clients.lock",
    "log": "server.log",
}


class Lease:
    """A process's share of the server: while it is held, the server stays up."""

    def __init__(self, url: str, handle: IO[str]) -> None:
        self.url = url
        self._handle: IO[str] | None = handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the shared lock
            self._handle = None


class LocalChromaServer:
    """Starts (or finds) the data dir's Chroma server and connects to it."""

    def __init__(self, data_dir: Path, path: Path, idle_seconds: float = 300.0) -> None:
        self.files = ServerFiles.of(data_dir)
        self.path = Path(path).resolve()
        self.idle_seconds = idle_seconds

    def connect(self) -> Lease:
        """The URL of a running server for this data dir, starting one if there is none, and a
        lease that keeps it running until it is closed (or this process ends)."""
        self.files.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(self.files.start, timeout=START_LOCK_TIMEOUT):
                port = self._running_port() or self._start()
                handle = self.files.clients.open("a")
                # Immediate: the supervisor takes this lock exclusively only under the start
                # lock, which this process holds.
                fcntl.flock(handle, fcntl.LOCK_SH)
        except Timeout:
            raise UserError(
                f"Another marketbot process has been starting the store in {self.files.data_dir} "
                f"for over {START_LOCK_TIMEOUT:g} s; see {self.files.log}."
            ) from None
        return Lease(f"http://127.0.0.1:{port}", handle)

    def _running_port(self) -> int | None:
        """The port of this data dir's server, or None when no supervisor runs. A live
        supervisor whose server does not answer (restarting it, or it is busy) is waited for:
        its files are its own, and another one may not be started beside it."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            info = self._own_info()
            if info is None or not _alive(int(info.get("pid", 0))):
                return None
            port = int(info.get("port", 0))
            if heartbeat(port):
                return port
            if time.monotonic() > deadline:
                raise UserError(
                    f"The store's Chroma server in {self.files.data_dir} (supervisor pid "
                    f"{info.get('pid')}) has not answered for {START_TIMEOUT:g} s; see "
                    f"{self.files.log}."
                )
            time.sleep(0.2)

    def _own_info(self) -> dict[str, Any] | None:
        """The server file, if it describes a server of this store: a data dir copied while
        its server ran carries the other store's file, whose server must not be used."""
        info = read_info(self.files)
        if info is None:
            return None
        try:
            same = Path(str(info.get("path", ""))).resolve() == self.path.resolve()
        except (OSError, ValueError):
            same = False
        return info if same else None

    def _start(self) -> int:
        """Start a supervisor and wait until its server answers; its port."""
        previous = self._own_info() or {}
        self._wait_for_owner_to_leave(previous)
        self.files.info.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "bot.core.chroma_server",
            "--data-dir",
            str(self.files.data_dir),
            "--path",
            str(self.path),
            "--idle",
            str(self.idle_seconds),
        ]
        if previous.get("port"):
            # The port processes still connected to the last server know: they come back.
            command += ["--port", str(previous["port"])]
        log = self.files.log.open("w")
        try:
            supervisor = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: it outlives this process (other processes may use it), and
                # a Ctrl-C meant for this process is not sent to it.
                start_new_session=True,
                close_fds=True,
                cwd=str(Path(__file__).resolve().parents[2]),
                env=_server_environment(),
            )
        finally:
            log.close()
        # Whenever it ends, this process (its parent) reaps it: never a zombie that looks alive.
        threading.Thread(target=supervisor.wait, name="chroma-reaper", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            info = read_info(self.files)
            if info is not None and info.get("pid") == supervisor.pid:
                port = int(info["port"])
                if heartbeat(port):
                    return port
            status = supervisor.poll()
            if status is not None:
                if status == EXIT_OWNED:
                    raise self._busy()
                raise UserError(
                    f"The store's Chroma server in {self.files.data_dir} did not start "
                    f"(exit {status}); see {self.files.log}."
                )
            time.sleep(0.05)
        supervisor.terminate()
        with suppress(subprocess.TimeoutExpired):
            supervisor.wait(timeout=20)  # it stops its server before it exits
        raise UserError(
            f"The store's Chroma server in {self.files.data_dir} did not answer within "
            f"{START_TIMEOUT:g} s; see {self.files.log}."
        )

    def _wait_for_owner_to_leave(self, previous: dict[str, Any]) -> None:
        """The files' owner when no supervisor runs: a server whose supervisor was killed (it
        is signalled when its parent dies, and stopped here if it was not), or a process in
        embedded mode, which does not leave."""
        orphan = int(previous.get("chroma_pid") or 0)
        if orphan and held(self.files.owner) and _is_our_server(orphan, self.path):
            with suppress(OSError):
                os.kill(orphan, signal.SIGTERM)
        deadline = time.monotonic() + OWNER_WAIT
        while held(self.files.owner):
            if time.monotonic() > deadline:
                raise self._busy()
            time.sleep(0.1)

    def _busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"The store in {self.files.data_dir} is open in another marketbot process that "
            "does not share it (MARKETBOT_CHROMA_EMBEDDED=1). Stop that process, or run every "
            "process without MARKETBOT_CHROMA_EMBEDDED so that they share the store."
        )


_embedded_owners: dict[Path, tuple[IO[str], int]] = {}


def own_embedded(data_dir: Path) -> None:
    """Claim the store's files for this process alone (embedded mode); StoreBusyError when a
    server or another process has them. Several stores on one dir in this process share it."""
    files = ServerFiles.of(data_dir)
    owned = _embedded_owners.get(files.owner)
    if owned is not None:
        _embedded_owners[files.owner] = (owned[0], owned[1] + 1)
        return
    files.data_dir.mkdir(parents=True, exist_ok=True)
    handle = files.owner.open("a")
    if not _lock_soon(handle):
        handle.close()
        raise StoreBusyError(
            f"The store in {files.data_dir} is in use by another marketbot process (through "
            "its Chroma server). MARKETBOT_CHROMA_EMBEDDED=1 is for a process that is alone on "
            "its data dir: unset it to share the store with the others."
        ) from None
    _embedded_owners[files.owner] = (handle, 1)


def _server_environment() -> dict[str, str]:
    """This process's environment without its secrets (the bot's token, model keys): the
    server needs none of them."""
    secret = ("_TOKEN", "_KEY", "_SECRET", "_PASSWORD")
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MARKETBOT_")
        and not name.upper().endswith(secret)
        and name.lower() not in PROXY_VARIABLES
    } | {"ANONYMIZED_TELEMETRY": "False"}


def read_info(files: ServerFiles) -> dict[str, Any] | None:
    try:
        data = json.loads(files.info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def held(lock_path: Path) -> bool:
    """Whether some process holds an exclusive (or any) lock on lock_path."""
    try:
        handle = lock_path.open("a")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _lock_soon(handle: IO[str], seconds: float = 2.0) -> bool:
    """Take an exclusive lock on handle, retrying for a moment: `held` takes it for an
    instant to look, which must not turn away a process claiming it for good."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy


def heartbeat(port: int, timeout: float = 2.0) -> bool:
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=timeout) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust the signal
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_our_server(pid: int, path: Path) -> bool:
    """Whether pid is a `chroma run` over path (and not some process that took its pid)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"run" in arguments and os.fsencode(path) in arguments


# -- the supervisor (python -m bot.core.chroma_server) ------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dying_with(parent: int) -> Callable[[], None]:
    """For the child, before it runs chroma: be sent SIGTERM when the supervisor dies, even
    by kill -9 (Linux's PR_SET_PDEATHSIG), and never start at all if it already has."""

    def arrange() -> None:
        with suppress(OSError, AttributeError, TypeError):
            ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl(1, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return arrange


def _chroma_command(path: Path, port: int) -> list[str]:
    chroma = Path(sys.executable).with_name("chroma")
    if chroma.exists():
        head = [str(chroma)]
    else:  # no console script beside this Python: the same entry point through -c
        head = [sys.executable, "-c", "import sys; from chromadb.cli.cli import app; app()"]
    return [*head, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]


class _Supervisor:
    def __init__(
        self, files: ServerFiles, path: Path, idle_seconds: float, port: int | None = None
    ) -> None:
        self.files = files
        self.path = path
        self.idle_seconds = idle_seconds
        self.wanted_port = port  # the last server's, which connected processes still use
        self.owner: IO[str] | None = None
        self.chroma: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.stopping = False

    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"{stamp} supervisor {os.getpid()}: {message}", flush=True)

    def run(self) -> int:
        self.owner = self.files.owner.open("a")
        if not _lock_soon(self.owner):
            self.say("the store's files are owned by another process")
            return EXIT_OWNED
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if not self._launch(self.wanted_port):
            self._stop()
            return 1
        deaths: list[float] = []
        idle_since: float | None = None
        missed = 0  # heartbeats in a row the server did not answer
        while not self.stopping:
            time.sleep(CHECK_SECONDS)
            if not self.files.data_dir.exists() or self._replaced():
                # Deleted (and perhaps made again) under it: the files it serves are gone,
                # and a new server may already own their successors.
                self.say("the data dir is gone")
                break
            assert self.chroma is not None
            exited = self.chroma.poll() is not None
            if exited or missed >= HUNG_CHECKS:
                # A hung server would hold every question that waits on it: restart it.
                why = f"exited ({self.chroma.returncode})" if exited else "stopped answering"
                self._terminate()
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < 60] + [now]
                self.say(f"the server {why}; restarting it")
                missed = 0
                if len(deaths) > RESTARTS or not self._launch(self.port):
                    self.say("giving up: the server keeps failing")
                    break
                continue
            missed = 0 if heartbeat(self.port) else missed + 1
            idle = self._idle()
            if idle is None:
                continue  # the start lock is busy: a process is connecting
            if not idle:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= self.idle_seconds and self._stop_if_idle():
                self.say("no process used the server: stopped")
                return 0
        self._stop()
        return 0

    def _replaced(self) -> bool:
        """Whether the owner lock it holds is no longer the data dir's (deleted, or deleted
        and created again by a new supervisor)."""
        if self.owner is None:
            return False
        try:
            return os.stat(self.files.owner).st_ino != os.fstat(self.owner.fileno()).st_ino
        except FileNotFoundError:
            return True

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _launch(self, port: int | None) -> bool:
        """Start `chroma run` and wait for it to answer, on `port` when it is given (processes
        still connected to the last server know only that one), else on a free port; then
        say where it listens."""
        environment = {**_server_environment(), "RUST_LOG": "warn"}
        assert self.owner is not None
        for attempt in range(6):
            if self.stopping:
                return False
            candidate = port if port and attempt < 4 else _free_port()
            self.chroma = subprocess.Popen(
                _chroma_command(self.path, candidate),
                stdin=subprocess.DEVNULL,
                stdout=sys.stdout,
                stderr=sys.stderr,
                env=environment,
                # The owner lock's file stays open in the server: the lock is free only when
                # both are gone, so a server outliving its supervisor still bars a second one.
                pass_fds=(self.owner.fileno(),),
                preexec_fn=_dying_with(os.getpid()),
            )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.chroma.poll() is None:
                if self.stopping:
                    return False
                if heartbeat(candidate, timeout=1.0):
                    self.port = candidate
                    self._write_info()
                    self.say(f"serving {self.path} on 127.0.0.1:{candidate}")
                    return True
                time.sleep(0.05)
            self._terminate()
            time.sleep(0.5)  # the last server's port may still be closing
        self.say("the server did not start")
        return False

    def _write_info(self) -> None:
        assert self.chroma is not None
        payload = {
            "pid": os.getpid(),
            "chroma_pid": self.chroma.pid,
            "port": self.port,
            "path": str(self.path),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        temporary = self.files.info.with_name(f".{self.files.info.name}.{os.getpid()}")
        # Readable by this user only: the port is the way into the store, unauthenticated.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(payload))
        os.replace(temporary, self.files.info)

    def _idle(self) -> bool | None:
        """Whether no process holds a lease (None when a process is connecting right now)."""
        try:
            with FileLock(self.files.start, timeout=0.2), self.files.clients.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                fcntl.flock(handle, fcntl.LOCK_UN)
                return True
        except Timeout:
            return None

    def _stop_if_idle(self) -> bool:
        """Stop the server if still no process holds a lease, so that no process can connect
        to a server that is going away (connecting takes the start lock)."""
        try:
            with FileLock(self.files.start, timeout=0.2), self.files.clients.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                self._stop()
                return True
        except Timeout:
            return False

    def _stop(self) -> None:
        info = read_info(self.files)
        if info is not None and info.get("pid") == os.getpid():
            self.files.info.unlink(missing_ok=True)
        self._terminate()
        if self.owner is not None:
            self.owner.close()
            self.owner = None

    def _terminate(self) -> None:
        if self.chroma is None or self.chroma.poll() is not None:
            return
        self.chroma.terminate()
        try:
            self.chroma.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.chroma.kill()
            self.chroma.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--idle", type=float, default=300.0)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    args.path.mkdir(parents=True, exist_ok=True)
    return _Supervisor(ServerFiles.of(args.data_dir), args.path, args.idle, args.port).run()


if __name__ == "__main__":
    sys.exit(main())
