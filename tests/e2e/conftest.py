"""End-to-end fixtures: the real app on a loopback port, and headless Chromium driven by
Playwright.

* The app: ``create_app`` on a temporary SQLite file, served by uvicorn on 127.0.0.1 and a free
  port in a background thread; the test user is created through the store.
* The browser: Debian's ``chromium`` (``/usr/bin/chromium``, or ``$REVSPINE_CHROMIUM``) launched
  through ``executable_path`` (``playwright install`` is never needed). When it is missing and the
  tests run as root (CI on Debian) it is installed with ``apt-get install -y chromium``;
  otherwise the tests FAIL with the command to run. They never skip.
* Screenshots go to ``test-output/e2e/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2etools import LiveApp

from revspine.settings import Settings
from revspine.storage import AuditEvent, open_store
from revspine.web import create_app
from revspine.web.credentials import Passwords

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "e2e"
USER, PASSWORD = "surgeon", "e2e correct horse battery staple"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    wanted = os.environ.get("REVSPINE_CHROMIUM", "/usr/bin/chromium")
    if Path(wanted).is_file():
        return wanted
    found = shutil.which("chromium")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:  # a fresh image has no package lists yet
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
            done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0 and Path(wanted).is_file():
            return wanted
        pytest.fail(
            f"could not install Debian chromium (apt-get exit {done.returncode}):\n"
            f"{done.stderr[-2000:]}",
            pytrace=False,
        )
    pytest.fail(
        f"the browser tests need Chromium at {wanted} (Debian: sudo apt-get install chromium; "
        "or set REVSPINE_CHROMIUM to a Chromium binary). They do not skip.",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The real app on 127.0.0.1 (uvicorn in a background thread) over a temporary SQLite db."""
    import uvicorn

    database = tmp_path_factory.mktemp("e2e") / "revspine.db"
    settings = Settings(
        database_url=f"sqlite:///{database}", secret_key="e" * 48, db_auto_upgrade=True
    )
    passwords = Passwords(time_cost=1, memory_kib=8, parallelism=1)
    store = open_store(settings.database_url)
    app = create_app(settings, store=store, passwords=passwords)
    event = AuditEvent("e2e", "user_create", "user", USER)
    store.add_user(USER, passwords.hash(PASSWORD), "clinician", event)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start on 127.0.0.1", pytrace=False)
        time.sleep(0.02)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", USER, PASSWORD, store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's build) under Playwright's sync API.

    Module-scoped on purpose: while Playwright's sync API is running it owns the main thread's
    event loop, which the in-process web tests (``asyncio.Runner``) need when they run on the same
    worker; pytest stops it as soon as the run leaves this module."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh browser tab (own cookies) on the live app; fails on any script error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=live_app.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused form comes back as 422 / 409 with the form again: the browser logs the status.
    expected = re.compile(r"status of (409|422) ")
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not expected.search(msg.text)
            else None
        ),
    )
    yield tab
    context.close()
    assert errors == [], f"script or console errors in the browser: {errors}"


@pytest.fixture
def shot() -> Any:
    """``shot(page, name)`` saves a full-page screenshot (``full=False``: what the window shows)
    under test-output/e2e/."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(tab: Any, name: str, full: bool = True) -> Path:
        path = SHOTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=full)
        return path

    return save
