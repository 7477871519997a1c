"""Shared fixtures for the clinical-safety tests: the repository root, the examples, and the
tests collected once per session for the trace matrix."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from revspine.domain.case import Case
from revspine.governance.trace import Collection, collect_tests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PROPERTY = ROOT / "tests" / "property"
if str(PROPERTY) not in sys.path:  # the Hypothesis strategies of tests/property
    sys.path.insert(0, str(PROPERTY))


@cache
def example(name: str) -> Case:
    """An example case by file name (cached; cases are immutable)."""
    return Case.model_validate(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


def example_names() -> list[str]:
    """Every example file name, sorted."""
    return sorted(p.name for p in EXAMPLES.glob("*.yaml"))


@pytest.fixture(scope="session")
def collection() -> Collection:
    """The whole test suite as pytest collects it, with the trace ids of every test."""
    return collect_tests(ROOT)
