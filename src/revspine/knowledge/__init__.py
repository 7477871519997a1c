"""Parameters as data: the versioned knowledge file, its schema and site overrides."""

from revspine.knowledge.base import Knowledge, Param, load_knowledge

__all__ = ["Knowledge", "Param", "load_knowledge"]
