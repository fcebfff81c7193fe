"""The supervisors' web console at `/console/` (docs/architecture.md §11.5): accounts, sessions and the pages.

`install(app)` adds its routes and the answers for "log in first", "not found" and "forbidden".
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

from app.i18n import N_
from server.console import (
    login,
    page_alerts,
    page_exceptions,
    page_health,
    page_reconciliation,
    page_stations,
    page_today,
    page_track,
)
from server.console.web import STATIC_DIR, Forbidden, Login, NotFound, error_page, to_login


def install(app: FastAPI) -> None:
    app.include_router(login.router)
    app.include_router(page_today.router)
    app.include_router(page_reconciliation.router)
    app.include_router(page_track.router)
    app.include_router(page_health.router)
    app.include_router(page_stations.router)
    app.include_router(page_alerts.router)
    app.include_router(page_exceptions.router)

    @app.get("/console/static/console.css", include_in_schema=False)
    def stylesheet() -> Response:
        return FileResponse(STATIC_DIR / "console.css", media_type="text/css",
                            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})

    @app.exception_handler(Login)
    async def login_first(request: Request, _: Login) -> Response:
        return to_login(request)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, _: NotFound) -> Response:
        return error_page(request, 404, N_("There is nothing here, or it is not yours to see."))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403, exc.reason)
