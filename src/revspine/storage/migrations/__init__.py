"""Alembic migrations of the revspine database (run by ``revspine db upgrade`` or at start-up)."""
