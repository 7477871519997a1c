"""Alembic environment: runs on the connection handed over by ``run_migrations``."""

from __future__ import annotations

from alembic import context

from revspine.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise RuntimeError("run migrations with `revspine db upgrade`, not the alembic CLI")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
