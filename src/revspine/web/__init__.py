"""The web app: a thin FastAPI layer over the engine and the store (no clinical logic here).

``create_app(settings)`` builds it; ``revspine serve`` runs it with uvicorn.
"""

from __future__ import annotations

from revspine.web.app import create_app

__all__ = ["create_app"]
