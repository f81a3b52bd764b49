"""Offline mode: a process-wide guard that refuses every connection not to loopback."""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

from bot.errors import OfflineError

_installed = False


def is_loopback(address: Any) -> bool:
    """True for 127.0.0.0/8, ::1, 'localhost' and Unix sockets."""
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            raise OfflineError(
                f"offline mode (MARKETBOT_OFFLINE=1): refused a connection to {address[0]}"
            )
    elif event in ("socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if (
            sock.family in (socket.AF_INET, socket.AF_INET6)
            and address
            and not is_loopback(address)
        ):
            raise OfflineError(f"offline mode (MARKETBOT_OFFLINE=1): refused to send to {address}")
    elif event in (
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.gethostbyname_ex",
    ):
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host and not is_loopback((host,)):
            raise OfflineError(f"offline mode (MARKETBOT_OFFLINE=1): refused to look up {host}")


def forbid_remote_connections() -> None:
    """Install the guard once; it cannot be removed for the life of the process."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
