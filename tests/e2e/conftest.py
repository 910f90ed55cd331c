"""The real stack as `make run` starts it, in a scratch var/ dir on free ports, plus headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.redis_fixtures import free_port
from tests.shared_data import REPO, need

CHROMIUM = os.environ.get("MIA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
ADMIN = ("e2e-admin", "e2e-password-123")


@dataclass
class Stack:
    url: str
    env: dict
    var: Path
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 180) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self.proc = subprocess.Popen(["make", "run"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make run exited early; see {self.log_path}")
            try:
                body = requests.get(self.url + "/healthz", timeout=2).json()
                if body["status"] == "ok":
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError(f"stack not healthy after {timeout}s; see {self.log_path}")

    def manage(self, *args: str, stdin: str | None = None) -> str:
        """Run a manage.py command against the stack's own database and Redis."""
        result = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "manage.py", *args], cwd=REPO,
                                env=self.env, input=stdin, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# Package scope: the stack stops when the browser tests are done, so it does not run (and take a
# core) under the rest of the suite.
@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    need(shutil.which("make") is not None, "make not installed")
    need(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {**os.environ, "MIA_VAR_DIR": str(var), "MIA_PORT": str(port), "MIA_REDIS_PORT": str(free_port()),
           "MIA_ADMIN_USER": ADMIN[0], "MIA_ADMIN_PASSWORD": ADMIN[1], "MIA_SIM_SPEED": "5",
           "MIA_DEBUG": "0"}
    for key in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL"):
        env.pop(key, None)
    ARTIFACTS.mkdir(exist_ok=True)
    stack = Stack(url=f"http://127.0.0.1:{port}", env=env, var=var, log_path=ARTIFACTS / "e2e-stack.log")
    stack.start()
    stack.shell(PERSONAS)
    yield stack
    stack.stop()


PASSWORD = "e2e-password-123"
PERSONAS = f"""
from django.contrib.auth.models import Group
from django.contrib.auth import get_user_model
for name in ("viewer", "operator", "risk_admin"):
    user, _ = get_user_model().objects.get_or_create(username="e2e-" + name)
    user.set_password("{PASSWORD}")
    user.is_staff = True
    user.save()
    user.groups.set([Group.objects.get(name=name)])
"""


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.console_errors = errors
    yield page
    context.close()


def login(page, url: str, username: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
