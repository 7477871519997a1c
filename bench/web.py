"""Web benchmark: the assessment page and ``POST /api/v1/assess`` under a bounded loopback load.

A uvicorn server (``create_app`` on a temporary SQLite database, one worker, the default
settings) runs in a subprocess on 127.0.0.1 and a free port. Before it starts, the database gets
the example cases (stored as the app stores them, decision sensitivity included), a clinician and
an API token. A closed-loop load generator (httpx ``AsyncClient``, ``--concurrency`` requests in
flight) then sends, per scenario, ``--warmup`` requests that are not measured and ``--requests``
that are, stopping early after ``--max-seconds``. Each request's latency is measured from send
to the end of its response; throughput is measured requests over the wall time of the measured
part.

Scenarios:

* ``GET /cases/{id}`` (signed in): the assessment page of EX07 (incomplete workup: the stored
  report with its decision sensitivity, the PROM and sagittal figures; one audit entry per view),
  and of EX29 (surgical candidate with the sagittal figure).
* ``POST /api/v1/assess`` (bearer token): EX07 and EX29 as JSON, assessed and not stored (one
  audit entry per call).

Prints a Markdown table. Run: ``.venv/bin/python bench/web.py [--requests 2000]
[--concurrency 8] [--max-seconds 30]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
USER, PASSWORD = "bench", "bench correct horse battery staple"
CASES = {"EX07": "07_suspected_pseudarthrosis_no_ct", "EX29": "29_flatback_sagittal_imbalance"}


@dataclass(frozen=True)
class Result:
    """One scenario's measurements."""

    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# -- the server (subprocess) ---------------------------------------------------------------------
def serve(url: str, port: int) -> None:
    """Run the app on 127.0.0.1:port (the subprocess)."""
    import uvicorn

    from revspine.settings import Settings
    from revspine.web import create_app

    settings = Settings(database_url=url, secret_key="b" * 48)
    app = create_app(settings)
    gc.collect()
    gc.freeze()  # as a long-running server should: start-up objects out of the collector's way
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, server_header=False
    )


def prepare(url: str) -> str:
    """Store the examples, a clinician and an API token; return the token."""
    from revspine.casefile import load_case
    from revspine.knowledge import load_knowledge
    from revspine.settings import Settings
    from revspine.storage import AuditEvent, open_store, system_clock
    from revspine.web.context import AppContext
    from revspine.web.credentials import Passwords, new_api_token, token_hash
    from revspine.web.service import evaluate

    store = open_store(url)
    store.upgrade()
    settings = Settings(database_url=url, secret_key="b" * 48)
    ctx = AppContext(settings, store, load_knowledge(), system_clock, b"b" * 32, Passwords())
    for path in sorted(EXAMPLES.glob("*.yaml")):
        case = load_case(path)
        assert case.case_id is not None
        event = AuditEvent("bench", "create", "case", case.case_id, None, "success", "bench v1")
        store.create_case(case.case_id, evaluate(ctx, case, None).version, "bench", event)
    event = AuditEvent("bench", "user_create", "user", USER)
    store.add_user(USER, Passwords().hash(PASSWORD), "clinician", event)
    token = new_api_token()
    store.add_token(
        USER, token_hash(token), "bench", None, AuditEvent("bench", "token", "user", USER)
    )
    store.close()
    return token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode})")
        try:
            if httpx.get(f"{base}/login", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


# -- the load --------------------------------------------------------------------------------------
async def _sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token, "no sign-in form"
    data = {"username": USER, "password": PASSWORD, "csrf_token": token.group(1), "next": "/cases"}
    response = await client.post("/login", data=data)
    assert response.status_code == 303, f"sign-in failed: {response.status_code}"


async def _run(
    client: httpx.AsyncClient,
    label: str,
    request: dict[str, Any],
    count: int,
    warmup: int,
    concurrency: int,
    max_seconds: float,
) -> Result:
    latencies: list[float] = []
    errors = 0
    issued = 0

    async def one() -> None:
        nonlocal errors
        started = time.perf_counter()
        response = await client.request(**request)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            errors += 1
        latencies.append(elapsed)

    async def worker(total: int, deadline: float) -> None:
        nonlocal issued
        while issued < total and time.perf_counter() < deadline:
            issued += 1
            await one()

    await asyncio.gather(*(worker(warmup, math.inf) for _ in range(concurrency)))
    latencies.clear()
    errors, issued = 0, 0
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(*(worker(count, deadline) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Result(label, len(latencies), errors, seconds, list(latencies))


async def measure(base: str, token: str, args: argparse.Namespace) -> list[Result]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    bodies = {
        cid: json.dumps(
            {**yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()), "case_id": f"{cid}-B"},
            default=str,
        )
        for cid, name in CASES.items()
    }
    results = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as page_client:
        await _sign_in(page_client)
        for cid in CASES:
            request = {"method": "GET", "url": f"/cases/{cid}"}
            label = f"`GET /cases/{cid}` (assessment page)"
            results.append(
                await _run(
                    page_client,
                    label,
                    request,
                    args.requests,
                    args.warmup,
                    args.concurrency,
                    args.max_seconds,
                )
            )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30.0, headers=headers
    ) as api:
        for cid in CASES:
            request = {"method": "POST", "url": "/api/v1/assess", "content": bodies[cid]}
            label = f"`POST /api/v1/assess` ({cid})"
            results.append(
                await _run(
                    api,
                    label,
                    request,
                    args.requests,
                    args.warmup,
                    args.concurrency,
                    args.max_seconds,
                )
            )
    return results


def table(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"Loopback, one uvicorn worker, SQLite; {args.concurrency} requests in flight; "
        f"{args.warmup} warm-up requests, then up to {args.requests} measured "
        f"(at most {args.max_seconds:g} s) per row.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
        "",
        "| scenario | requests | errors | req/s | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {r.requests} | {r.errors} | {r.rps:.0f} | {r.pct(0.50):.1f} | "
            f"{r.pct(0.99):.1f} | {max(r.latencies_ms, default=math.nan):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per row")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests per row")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time cap per row")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    with tempfile.TemporaryDirectory(prefix="revspine-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        token = prepare(url)
        port = _free_port()
        command = [sys.executable, __file__, "--serve", url, "--port", str(port)]
        process = subprocess.Popen(command, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process)
            results = asyncio.run(measure(base, token, args))
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(table(results, args))
    if any(r.errors for r in results):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
