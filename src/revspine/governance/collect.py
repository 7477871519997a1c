"""A pytest plugin that records, for every collected test, the trace ids it names.

Loaded by ``revspine trace`` as ``pytest --collect-only -p revspine.governance.collect
--revspine-trace-out FILE``: nothing runs, pytest only collects, so parametrised tests, class
markers and module ``pytestmark`` are seen exactly as pytest sees them. A test names ids with the
``req`` marker (``@pytest.mark.req("REQ-010", "HAZ-003", "DS001")``); a test parametrised with an
argument called ``rule_id`` also verifies that rule (the convention of the rule-coverage tests).
A test marked ``xfail`` is recorded as such: an expected failure verifies nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

_ITEMS: list[dict[str, Any]] = []
_ERRORS: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--revspine-trace-out``."""
    parser.addoption(
        "--revspine-trace-out",
        default=None,
        help="revspine trace: write the collected tests and their trace ids to this JSON file.",
    )


def trace_ids(item: pytest.Item) -> list[str]:
    """Trace ids named by ``item``: its ``req`` markers and a ``rule_id`` parameter."""
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(str(a) for a in mark.args)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        rule_id = callspec.params.get("rule_id")
        if isinstance(rule_id, str):
            ids.append(rule_id)
    return sorted(set(ids))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember collection errors: an uncollectable test verifies nothing."""
    if report.failed:
        _ERRORS.append(f"{report.nodeid or '(session)'}: {str(report.longrepr).splitlines()[-1]}")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Record every collected test with its trace ids."""
    _ITEMS.clear()
    _ITEMS.extend(
        {
            "nodeid": item.nodeid,
            "ids": trace_ids(item),
            "xfail": item.get_closest_marker("xfail") is not None,
        }
        for item in items
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the JSON file named by ``--revspine-trace-out``."""
    out = session.config.getoption("--revspine-trace-out")
    if out:
        Path(out).write_text(json.dumps({"tests": _ITEMS, "errors": _ERRORS}, indent=1))
