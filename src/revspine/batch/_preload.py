"""Imported once by the fork server that starts the batch workers (``runner._Pool``): every
module a worker needs, and the rule modules the engine would otherwise import on the first
assessment of every worker. Importing it has no other effect."""

from __future__ import annotations

import importlib

from revspine.rules import load_all

__all__ = ["WORKER_MODULES"]

WORKER_MODULES = (
    "revspine.batch._worker",
    "revspine.knowledge",
    "revspine.adapters.fhir",
    "revspine.engine",
    "revspine.domain.checks",
    "pyarrow",
    "pyarrow.ipc",
)
"""What every worker imports (task dispatch, knowledge, FHIR import, engine, checks, Arrow)."""

for _name in WORKER_MODULES:
    importlib.import_module(_name)
load_all()
