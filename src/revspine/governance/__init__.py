"""Clinical-safety governance: the requirements and hazard log as data, the trace matrix, the
knowledge diff and the knowledge changelog check (IEC 62304 traceability, ISO 14971 risk
management; ECOSYSTEM.md §5.2).

This package sits beside the adapters: it reads files and may import the engine, the rules and
the knowledge loader, never the other way round.
"""
