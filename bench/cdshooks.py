"""CDS Hooks benchmark: ``patient-view`` latency under a bounded loopback load, JWT on.

A uvicorn server (``cds_app``, JWT verification on, one trusted issuer with an inline ES384
JWKS) is started in a subprocess on 127.0.0.1 and a free port. An open-loop load generator
(httpx ``AsyncClient``) then sends ``patient-view`` calls at a fixed rate (default 200/s for
10 s), each with its own ES384 token (unique ``jti``; signed before the run so the generator
stays light) and the full prefetch of one FBSS patient. Latency is measured from each request's
*scheduled* send time to the end of its response (so a stalled server cannot hide its queue),
over every request of the run after a 1 s warm-up. The server is stopped at the end.

Scenarios: the EX07 record as an EHR would send it (13 resources) at the offered rate, and the
same record padded with 187 older laboratory and vital-sign Observations (200 resources, the size
of the ECOSYSTEM §6 target) at the offered rate and at half of it. Each is measured for
``--duration`` seconds after a 2 s warm-up at the same rate. In-process rows
(``authenticate`` + ``call`` on the service object, no HTTP) show the share of the service
itself. Prints Markdown tables. Target: p99 ≤ 50 ms at 200 req/s.

The server calls ``gc.freeze()`` after start-up (as a long-running ``revspine serve`` should):
without it, full garbage collections over the start-up heap add 20-50 ms to the p99 of the
200-resource case.

Run: ``.venv/bin/python bench/cdshooks.py [--rate 200] [--duration 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://ehr.bench.example"
SERVICE = "revspine-patient-view"
PATIENT = "bench-1"
TARGET_P99_MS = 50.0
WARMUP_S = 2.0
AS_OF = dt.date(2026, 11, 1)


# -- the server (child process) ----------------------------------------------------------------


def serve(port: int, jwks_file: Path) -> None:
    """Run the CDS app with JWT verification on (child process)."""
    import uvicorn

    from revspine.adapters.cdshooks import CdsService, CdsSettings
    from revspine.web.cdshooks import cds_app

    jwks = json.loads(jwks_file.read_text())
    settings = CdsSettings(issuers={ISSUER: jwks}, base_url=f"http://127.0.0.1:{port}")
    clock = lambda: dt.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=dt.UTC)  # noqa: E731
    service = CdsService(settings, clock=clock)
    service.verifier.now = time.time  # tokens are signed with the real clock
    app = cds_app(service=service)
    gc.collect()
    gc.freeze()  # start-up objects out of the collector's way: shorter full collections
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


# -- the workload ------------------------------------------------------------------------------


def _prefetch(padding: int) -> dict[str, Any]:
    """EX07 as FHIR prefetch, plus ``padding`` older Observations (CRP, HbA1c, body weight)."""
    from revspine.adapters.fhir import case_to_bundle
    from revspine.casefile import load_case

    bundle = case_to_bundle(load_case(ROOT / "examples" / "07_suspected_pseudarthrosis_no_ct.yaml"))
    prefetch: dict[str, Any] = {
        "patient": None,
        "conditions": None,
        "observations": None,
        "procedures": None,
        "allergies": None,
        "medicationStatements": None,
        "medicationRequests": None,
        "devices": None,
    }
    keys = {
        "Condition": "conditions",
        "Observation": "observations",
        "Procedure": "procedures",
        "AllergyIntolerance": "allergies",
        "MedicationStatement": "medicationStatements",
        "MedicationRequest": "medicationRequests",
    }
    patient_ref = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    extra = []
    codes = [("1988-5", 4.0, "mg/L"), ("4548-4", 5.6, "%"), ("29463-7", 88.0, "kg")]
    for i in range(padding):
        code, value, unit = codes[i % len(codes)]
        day = AS_OF - dt.timedelta(days=400 + 7 * i)
        extra.append(
            {
                "fullUrl": f"urn:uuid:{uuid.UUID(int=i + 1)}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"old-{i}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                    "subject": {"reference": patient_ref},
                    "effectiveDateTime": day.isoformat(),
                    "valueQuantity": {
                        "value": value,
                        "unit": unit,
                        "system": "http://unitsofmeasure.org",
                        "code": unit,
                    },
                },
            }
        )
    for entry in [*bundle["entry"], *extra]:
        r = entry["resource"]
        if r["resourceType"] == "Patient":
            r = dict(r, id=PATIENT)
            prefetch["patient"] = r
            continue
        key = keys.get(r["resourceType"])
        if key is None:
            continue
        if prefetch[key] is None:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        prefetch[key]["entry"].append({"fullUrl": entry["fullUrl"], "resource": r})
    text = json.dumps(prefetch).replace(f'"{patient_ref}"', f'"Patient/{PATIENT}"')
    return json.loads(text)


def _body(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT},
        "prefetch": prefetch,
    }


def _tokens(key: Any, aud: str, n: int) -> list[str]:
    from joserfc import jwt

    now = int(time.time())
    header = {"alg": "ES384", "typ": "JWT", "kid": "bench-1"}
    return [
        jwt.encode(
            header,
            {"iss": ISSUER, "aud": aud, "exp": now + 900, "iat": now, "jti": str(uuid.uuid4())},
            key,
            algorithms=["ES384"],
        )
        for _ in range(n)
    ]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


async def _load(
    url: str, payloads: list[bytes], tokens: list[str], rate: float, warmup: int
) -> tuple[list[float], int, float]:
    """Open-loop load: request i is sent at start + i / rate. Returns latencies (ms, after the
    warm-up), failures, and the achieved send rate."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(limits=limits, timeout=2.0) as client:
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            nonlocal failures
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                response = await client.post(
                    url,
                    content=payloads[i % len(payloads)],
                    headers={
                        "Authorization": f"Bearer {tokens[i]}",
                        "Content-Type": "application/json",
                    },
                )
                ok = response.status_code == 200 and bool(response.json().get("cards"))
            except (httpx.HTTPError, ValueError):
                ok = False
            elapsed = (time.perf_counter() - scheduled) * 1000
            if not ok:
                failures += 1
            elif i >= warmup:
                latencies.append(elapsed)

        tasks = [asyncio.create_task(one(i)) for i in range(len(tokens))]
        _, pending = await asyncio.wait(tasks, timeout=len(tokens) / rate + 10)
        for task in pending:  # bounded: whatever has not finished by then counts as failed
            task.cancel()
        failures += len(pending)
        achieved = (len(tokens) - failures) / (time.perf_counter() - start)
    return latencies, failures, achieved


def _in_process(prefetch: dict[str, Any], key: Any, n: int) -> list[float]:
    """``authenticate`` + ``call`` on the service object, no HTTP (ms per request)."""
    from revspine.adapters.cdshooks import CdsService, CdsSettings

    jwks = {"keys": [key.as_dict(private=False)]}
    service = CdsService(CdsSettings(issuers={ISSUER: jwks}))
    service.clock = lambda: dt.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=dt.UTC)
    service.verifier.now = time.time
    aud = f"http://in-process/cds-services/{SERVICE}"
    tokens = _tokens(key, aud, n + 50)
    bodies = [orjson.dumps(_body(prefetch)) for _ in range(16)]

    async def run() -> list[float]:
        out = []
        for i, token in enumerate(tokens):
            t0 = time.perf_counter()
            await service.authenticate(f"Bearer {token}", aud)
            await service.call(SERVICE, bodies[i % len(bodies)])
            if i >= 50:
                out.append((time.perf_counter() - t0) * 1000)
        return out

    return asyncio.run(run())


def _busy_ticks(pids: tuple[int, ...]) -> tuple[int, int] | None:
    """(busy CPU ticks of the machine, CPU ticks of ``pids``) from /proc; None without /proc."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        total = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # not idle/iowait
        mine = 0
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            mine += int(stat[11]) + int(stat[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return None
    return total, mine


def _others(before: tuple[int, int] | None, after: tuple[int, int] | None, seconds: float) -> str:
    """CPU used by other processes during a run, in % of one CPU."""
    if before is None or after is None or seconds <= 0:
        return "n/a"
    ticks = (after[0] - before[0]) - (after[1] - before[1])
    return f"{max(0, ticks) / os.sysconf('SC_CLK_TCK') / seconds * 100:.0f}%"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start in time")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, be the server)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (200)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario (10)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jwks", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.jwks)
        return 0
    if not 0 < args.rate <= 2000 or not 0 < args.duration <= 120:
        parser.error("--rate must be in (0, 2000] and --duration in (0, 120]")

    from joserfc.jwk import ECKey

    load_before = os.getloadavg()[0]
    key = ECKey.generate_key("P-384", parameters={"kid": "bench-1"})
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/cds-services/{SERVICE}"
    scenarios = [
        ("EX07 record, 13 resources", 0, args.rate),
        ("EX07 + 187 older Observations, 200 resources", 187, args.rate),
        ("EX07 + 187 older Observations, 200 resources", 187, args.rate / 2),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jwks_file = Path(tmp) / "jwks.json"
        jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--jwks", str(jwks_file)], env=env
        )
        try:
            _wait_ready(f"{base}/cds-services", proc)
            for label, padding, rate in scenarios:
                rows.append(_scenario(label, padding, rate, args.duration, key, url, proc.pid))
                time.sleep(1.0)  # let a saturated server drain before the next scenario
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    inproc = [
        (label, _in_process(_prefetch(padding), key, 1000)) for label, padding, _ in scenarios[:2]
    ]
    _report(args.duration, load_before, rows, inproc)
    return 0


def _scenario(
    label: str, padding: int, rate: float, duration: float, key: Any, url: str, server: int
) -> tuple[Any, ...]:
    """One measured scenario: warm-up, then ``duration`` seconds at ``rate``."""
    prefetch = _prefetch(padding)
    payloads = [orjson.dumps(_body(prefetch)) for _ in range(64)]
    warmup = int(rate * WARMUP_S)
    tokens = _tokens(key, url, int(rate * duration) + warmup)
    pids = (os.getpid(), server)
    before, t0 = _busy_ticks(pids), time.perf_counter()
    latencies, failures, achieved = asyncio.run(_load(url, payloads, tokens, rate, warmup))
    others = _others(before, _busy_ticks(pids), time.perf_counter() - t0)
    size = statistics.median(len(p) for p in payloads) / 1024
    return label, rate, size, len(latencies), failures, achieved, latencies, others


def _report(
    duration: float,
    load_before: float,
    rows: list[tuple[Any, ...]],
    inproc: list[tuple[str, list[float]]],
) -> None:
    print(
        f"CDS Hooks patient-view under load — revspine, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, uvicorn (1 worker, loopback), "
        f"JWT ES384 verified per request; {duration:g} s measured per scenario after a "
        f"{WARMUP_S:g} s warm-up at the same rate. Load average (1 min) before the run: "
        f"{load_before:.2f}. 'Other CPU' is what other processes used during the scenario "
        "(% of one CPU): when it is high, the numbers are not representative.\n"
    )
    print(
        "| prefetch | offered req/s | body (KiB) | requests | failed | achieved req/s "
        "| p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | other CPU | p99 ≤ 50 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, rate, size, count, failures, achieved, lat, others in rows:
        p99 = _percentile(lat, 99) if lat else float("inf")
        ok = p99 <= TARGET_P99_MS and failures == 0
        cells = [f"{_percentile(lat, q):.1f}" for q in (50, 95, 99)] if lat else ["-"] * 3
        print(
            f"| {label} | {rate:g} | {size:.1f} | {count} | {failures} | {achieved:.0f} | "
            f"{' | '.join(cells)} | {max(lat, default=float('nan')):.1f} | {others} | "
            f"{'met' if ok else '**not met**'} |"
        )
    print("\nIn-process, no HTTP (JWT verification + prefetch import + assessment + cards):\n")
    print("| prefetch | calls | p50 (ms) | p95 (ms) | p99 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for label, lat in inproc:
        print(
            f"| {label} | {len(lat)} | {_percentile(lat, 50):.2f} | {_percentile(lat, 95):.2f} | "
            f"{_percentile(lat, 99):.2f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
