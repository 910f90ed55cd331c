"""Run the Procfile's processes, restart any that dies, stop them in dependency order (``make run``).

Why not honcho: one crash made honcho stop every process, Redis first, the gateway (which holds the
working stops) with it. Why not supervisord or circus: one terminal with every process's lines,
prefixed, as honcho gives, plus a stop order and a status file for ``/healthz``, is about 200 lines;
supervisord is a daemon with its own configuration language and no line prefixes, circus needs ZeroMQ.

* Each process runs in its own session (``sh -c "exec ..."``, so ``${VAR:-default}`` expands and the
  real program gets the signals); Ctrl-C reaches only this supervisor, which decides the order.
* A process that exits is restarted after 1, 2, 4 ... 30 s (plus up to 20 % jitter); a run of more
  than a minute resets the delay. It never takes another process down.
* Stop (Ctrl-C, SIGTERM): the web server, beat and the workers first, then the gateway (its working
  stops stay at the broker), Redis last; each gets SIGTERM and its own time to finish, then SIGKILL.
  A second Ctrl-C kills what is left at once. Should this supervisor itself die, the kernel sends
  its children SIGTERM (``PR_SET_PDEATHSIG``), so nothing is left running unsupervised.
* ``$MIA_VAR_DIR/supervisor.json`` holds each process's state, pid, restarts and last exit, for
  ``/healthz`` and the dashboard's health strip.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STOP_ORDER = ("web", "beat", "worker", "trading", "gateway", "redis")  # anything else stops first
STOP_TIMEOUT_S = {"gateway": 20.0, "trading": 20.0, "worker": 20.0}
DEFAULT_STOP_TIMEOUT_S = 8.0
BACKOFF_START_S, BACKOFF_CAP_S, STABLE_AFTER_S = 1.0, 30.0, 60.0
COLORS = ("36", "33", "32", "35", "34", "31", "96", "93")


def status_path() -> Path:
    return Path(os.environ.get("MIA_VAR_DIR", REPO / "var")).resolve() / "supervisor.json"


def read_status() -> dict:
    """The running supervisor's status; {} when none runs here (a file left by a killed one is ignored)."""
    try:
        status = json.loads(status_path().read_text())
        os.kill(int(status["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return status


def parse_procfile(text: str) -> list[tuple[str, str]]:
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier() or not command.strip():
            raise ValueError(f"Procfile line {number}: expected 'name: command', got {raw!r}")
        entries.append((name.strip(), command.strip()))
    return entries


try:  # looked up here, in the parent: nothing in the forked child may load a library
    _PRCTL = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except OSError:  # not glibc Linux: no parent-death signal, the stop order still holds
    _PRCTL = None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (PR_SET_PDEATHSIG, Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)


@dataclass
class Program:
    name: str
    command: str
    color: str
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    delay: float = BACKOFF_START_S
    last_exit: int | None = None
    state: str = "starting"
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, entries: list[tuple[str, str]], *, out=sys.stdout) -> None:
        self.out = out
        self.colored = hasattr(out, "isatty") and out.isatty()
        self.width = max(len(name) for name, _ in entries)
        self.programs = [Program(name, command, COLORS[i % len(COLORS)]) for i, (name, command) in enumerate(entries)]
        self.stopping = False
        self.kill_now = False
        self._lock = threading.Lock()

    # -- output ---------------------------------------------------------------------------------------
    def say(self, name: str, text: str, color: str = "0") -> None:
        stamp = time.strftime("%H:%M:%S")
        label = f"{stamp} {name.ljust(self.width)} | "
        if self.colored:
            label = f"\033[{color}m{label}\033[0m"
        with self._lock:
            self.out.write(label + text.rstrip("\n") + "\n")
            self.out.flush()

    def _pump(self, program: Program, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.say(program.name, raw.decode("utf-8", "replace"), program.color)

    # -- processes ------------------------------------------------------------------------------------
    def start(self, program: Program) -> None:
        program.proc = subprocess.Popen(["/bin/sh", "-c", f"exec {program.command}"], cwd=REPO,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=_die_with_parent)
        program.started_at, program.state = time.monotonic(), "running"
        program.reader = threading.Thread(target=self._pump, args=(program, program.proc.stdout), daemon=True)
        program.reader.start()
        self.say("supervisor", f"started {program.name} (pid {program.proc.pid})")
        self.write_status()

    def watch(self) -> None:
        """Restart what exits until asked to stop."""
        while not self.stopping:
            now = time.monotonic()
            for program in self.programs:
                if program.state == "running" and program.proc.poll() is not None:
                    self._exited(program, now)
                elif program.state == "backoff" and now >= program.next_start:
                    self.start(program)
            time.sleep(0.2)

    def _exited(self, program: Program, now: float) -> None:
        program.last_exit = program.proc.returncode
        if now - program.started_at > STABLE_AFTER_S:
            program.delay = BACKOFF_START_S
        wait = min(program.delay, BACKOFF_CAP_S) * (1 + random.uniform(0, 0.2))
        program.delay = min(program.delay * 2, BACKOFF_CAP_S)
        program.restarts += 1
        program.state, program.next_start = "backoff", now + wait
        self.say("supervisor", f"{program.name} exited with code {program.last_exit}; restarting in {wait:.1f} s "
                               f"(restart {program.restarts}); the other processes keep running")
        self.write_status()

    def stop_all(self) -> None:
        order = sorted(self.programs, key=lambda p: STOP_ORDER.index(p.name) if p.name in STOP_ORDER else -1)
        for program in order:
            self._stop(program)
        self.write_status()

    def _stop(self, program: Program) -> None:
        proc = program.proc
        program.state = "stopped"
        if proc is None or proc.poll() is not None:
            return
        self.say("supervisor", f"stopping {program.name}")
        self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S.get(program.name, DEFAULT_STOP_TIMEOUT_S)
        while proc.poll() is None and time.monotonic() < deadline and not self.kill_now:
            time.sleep(0.1)
        if proc.poll() is None:
            self.say("supervisor", f"{program.name} did not stop in time; killing it")
            self._signal(proc, signal.SIGKILL)
            proc.wait(timeout=5)
        if program.reader is not None:
            program.reader.join(timeout=2)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def write_status(self) -> None:
        status = {"pid": os.getpid(), "at": time.time(), "stopping": self.stopping,
                  "processes": {p.name: {"state": p.state, "pid": p.proc.pid if p.proc else None,
                                         "restarts": p.restarts, "last_exit": p.last_exit}
                                for p in self.programs}}
        path = status_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(status))
            os.replace(tmp, path)
        except OSError as exc:
            self.say("supervisor", f"cannot write {path}: {exc}")

    # -- signals --------------------------------------------------------------------------------------
    def on_signal(self, signum: int, _frame: object) -> None:
        if self.stopping:
            self.kill_now = True  # a second Ctrl-C: no more waiting
            return
        self.stopping = True


def main(argv: list[str]) -> int:
    procfile = Path(argv[1]) if len(argv) > 1 else REPO / "Procfile"
    supervisor = Supervisor(parse_procfile(procfile.read_text()))
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    for program in supervisor.programs:
        supervisor.start(program)
    try:
        supervisor.watch()
    finally:
        supervisor.say("supervisor", "stopping: web, beat and workers first, then the gateway, Redis last")
        supervisor.stop_all()
        status_path().unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
