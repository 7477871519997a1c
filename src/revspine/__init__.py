"""revspine: explainable clinical decision support for failed back surgery syndrome (FBSS).

The public API: load a case, assess it against the versioned knowledge base, read the result.
"""

from revspine.domain.case import Case
from revspine.engine.assessment import Assessment
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
