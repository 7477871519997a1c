"""The core stays pure (STYLE §1, §2): ``domain``, ``knowledge``, ``rules`` and ``engine`` never
import the CLI, the web, HTTP, databases, FHIR libraries or YAML, never read the environment and
never read the clock. Checked on the AST of every module, so a lazy import inside a function is
caught as well as a top-level one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.req("REQ-113")

SRC = Path(__file__).resolve().parents[2] / "src" / "revspine"
CORE = ("domain", "knowledge", "rules", "engine")

#: Top-level packages the core must not import (prefix match on the dotted name).
FORBIDDEN_PACKAGES = (
    "typer",
    "click",
    "rich",
    "jinja2",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "httpx",
    "requests",
    "fhir",
    "fhirclient",
    "yaml",
)
#: Outer layers of revspine itself (the dependency direction of STYLE §1).
FORBIDDEN_INTERNAL = (
    "revspine.cli",
    "revspine.report",
    "revspine.casefile",
    "revspine.web",
    "revspine.storage",
    "revspine.adapters",
    "revspine.batch",
    "revspine.plugins",
    "revspine.settings",
)
#: ``x.<name>()`` calls that read the wall clock (date.today, datetime.now, …).
CLOCK_METHODS = frozenset({"today", "now", "utcnow"})
#: Functions of the ``time`` module that read a clock.
TIME_FUNCTIONS = frozenset(
    {
        "time",
        "time_ns",
        "localtime",
        "gmtime",
        "ctime",
        "asctime",
        "strftime",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
    }
)
ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})


@dataclass(frozen=True)
class Violation:
    """One forbidden construct: where, and what."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _forbidden_module(name: str) -> str | None:
    for banned in (*FORBIDDEN_PACKAGES, *FORBIDDEN_INTERNAL):
        if name == banned or name.startswith(banned + "."):
            return banned
    return None


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def scan(source: str, path: str = "<string>") -> list[Violation]:
    """Every forbidden import, environment read and clock read in ``source``."""
    tree = ast.parse(source, filename=path)
    found: list[Violation] = []

    def add(node: ast.AST, what: str) -> None:
        found.append(Violation(path, getattr(node, "lineno", 0), what))

    # Local names bound to the time/os modules or their functions (``import time as t``).
    time_aliases = {"time"}
    os_aliases = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden_module(alias.name):
                    add(node, f"import {alias.name}")
                if alias.name == "time":
                    time_aliases.add(alias.asname or "time")
                if alias.name == "os":
                    os_aliases.add(alias.asname or "os")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            banned_module = _forbidden_module(node.module)
            if banned_module:
                add(node, f"from {node.module} import ...")
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if not banned_module and _forbidden_module(full):
                    add(node, f"from {node.module} import {alias.name}")
                if node.module == "time" and alias.name in TIME_FUNCTIONS:
                    add(node, f"from time import {alias.name} (clock)")
                if node.module == "os" and alias.name in ENV_NAMES:
                    add(node, f"from os import {alias.name} (environment)")
        elif isinstance(node, ast.Attribute):
            base = _dotted(node.value)
            if base in os_aliases and node.attr in ENV_NAMES:
                add(node, f"{base}.{node.attr} (environment)")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                base = _dotted(func.value)
                if func.attr in CLOCK_METHODS and base is not None:
                    add(node, f"{base}.{func.attr}() (clock)")
                elif base in time_aliases and func.attr in TIME_FUNCTIONS:
                    add(node, f"{base}.{func.attr}() (clock)")
            name = _dotted(func)
            if name in ("importlib.import_module", "import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    if _forbidden_module(arg.value):
                        add(node, f"{name}({arg.value!r})")
    return found


def core_modules() -> list[Path]:
    """Every Python module of the core layers."""
    modules = sorted(p for layer in CORE for p in (SRC / layer).rglob("*.py"))
    assert modules, f"no modules found under {SRC}"
    return modules


@pytest.mark.parametrize("module", core_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_is_pure(module: Path) -> None:
    violations = scan(module.read_text(encoding="utf-8"), str(module.relative_to(SRC)))
    assert not violations, "\n".join(map(str, violations))


def test_every_core_layer_is_scanned() -> None:
    layers = {p.relative_to(SRC).parts[0] for p in core_modules()}
    assert layers == set(CORE)


# The scanner itself must be able to fail: each snippet holds exactly one violation.
@pytest.mark.parametrize(
    "snippet",
    [
        "import typer",
        "import rich.console",
        "from jinja2 import Environment",
        "import fastapi",
        "from sqlalchemy.orm import Session",
        "import httpx",
        "from fhir.resources.patient import Patient",
        "import yaml",
        "from revspine.cli import app",
        "from revspine import report",
        "def f():\n    import yaml\n    return yaml",
        "import importlib\nimportlib.import_module('typer')",
        "import os\nx = os.environ['HOME']",
        "import os\nx = os.environ.get('HOME')",
        "import os\nx = os.getenv('HOME')",
        "from os import environ",
        "import os as o\nx = o.environ",
        "import datetime\nx = datetime.date.today()",
        "from datetime import date\nx = date.today()",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime as dt\nx = dt.datetime.utcnow()",
        "import time\nx = time.time()",
        "import time as t\nx = t.perf_counter()",
        "from time import time",
    ],
)
def test_scanner_finds_each_violation(snippet: str) -> None:
    assert len(scan(snippet)) == 1, scan(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "import datetime as dt\nx = dt.date(2026, 11, 1)",
        "from datetime import date\nx = date.fromisoformat('2026-11-01')",
        "import tomllib",
        "import pydantic",
        "from revspine.domain.case import Case",
        "import functools\n@functools.cache\ndef f(): return 1",
        "def f(pint_registry):\n    import pint\n    return pint",
    ],
)
def test_scanner_allows_pure_code(snippet: str) -> None:
    assert scan(snippet) == []


# The dependency direction inside the core (STYLE §1): domain ← knowledge ← rules ← engine.
LAYER_ORDER = ("domain", "knowledge", "rules", "engine")


def _imported_layers(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n.split(".")[1] for n in names if n.startswith("revspine.") and n.count(".") >= 1}


@pytest.mark.parametrize("module", core_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_layers_only_import_downwards(module: Path) -> None:
    layer = module.relative_to(SRC).parts[0]
    higher = set(LAYER_ORDER[LAYER_ORDER.index(layer) + 1 :])
    assert not (_imported_layers(module) & higher), f"{module.name} imports a higher layer"
