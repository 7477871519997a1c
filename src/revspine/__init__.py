"""revspine: explainable clinical decision support for failed back surgery syndrome (FBSS).

The public API: load a case, assess it against the versioned knowledge base, read the result.
Names are imported lazily (PEP 562) so that ``revspine --help`` does not import pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revspine.domain.assessment import Assessment
    from revspine.domain.case import Case
    from revspine.engine.run import assess
    from revspine.errors import (
        CaseValidationError,
        EngineError,
        InputError,
        KnowledgeError,
        KnowledgeSchemaError,
        RevspineError,
        UnitError,
    )
    from revspine.knowledge import Knowledge, load_knowledge

__version__ = "0.1.0"

_LAZY = {
    "Assessment": "revspine.domain.assessment",
    "Case": "revspine.domain.case",
    "CaseValidationError": "revspine.errors",
    "EngineError": "revspine.errors",
    "InputError": "revspine.errors",
    "Knowledge": "revspine.knowledge",
    "KnowledgeError": "revspine.errors",
    "KnowledgeSchemaError": "revspine.errors",
    "RevspineError": "revspine.errors",
    "UnitError": "revspine.errors",
    "assess": "revspine.engine.run",
    "load_knowledge": "revspine.knowledge",
}

__all__ = [
    "Assessment",
    "Case",
    "CaseValidationError",
    "EngineError",
    "InputError",
    "Knowledge",
    "KnowledgeError",
    "KnowledgeSchemaError",
    "RevspineError",
    "UnitError",
    "__version__",
    "assess",
    "load_knowledge",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'revspine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
