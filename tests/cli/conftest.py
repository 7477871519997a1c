"""Factories for the CLI tests: small case dicts written to a temporary file."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from revspine.cli.app import app

AS_OF = "2026-01-10"


def make_case(**overrides: Any) -> dict[str, Any]:
    """A small, valid case (one L4-L5 fusion, axial mechanical pain); top-level keys in
    ``overrides`` replace the defaults, ``None`` removes a key."""
    case: dict[str, Any] = {
        "case_id": "T1",
        "assessment_date": AS_OF,
        "patient": {"age": 60, "sex": "female", "weight": "80 kg", "height": "168 cm"},
        "surgeries": [
            {
                "date": "2024-01-15",
                "type": "fusion",
                "region": "lumbar",
                "levels": ["L4-L5"],
                "instrumented": True,
                "approach": "posterior",
            }
        ],
        "symptoms": {"axial_pain": True, "mechanical_pain": True, "fever": False},
        "labs": [{"test": "crp", "value": 3, "unit": "mg/L", "date": "2025-12-20"}],
    }
    for key, value in overrides.items():
        if value is None:
            case.pop(key, None)
        else:
            case[key] = copy.deepcopy(value)
    return case


@pytest.fixture
def write_case(tmp_path: Path) -> Callable[..., Path]:
    """Write a case (dict → YAML or JSON by the file name; str → verbatim) and return its path."""

    def _write(data: dict[str, Any] | str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        elif name.endswith(".json"):
            path.write_text(json.dumps(data), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def run() -> Callable[..., Result]:
    """Invoke the CLI in-process; stdout and stderr are captured separately."""
    runner = CliRunner()

    def _run(*args: str | Path) -> Result:
        argv: Sequence[str] = [str(a) for a in args]
        return runner.invoke(app, argv, prog_name="revspine")

    return _run


@pytest.fixture
def case() -> Callable[..., dict[str, Any]]:
    """The :func:`make_case` factory."""
    return make_case
