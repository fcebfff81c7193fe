"""Logging in and out of the console, and the user's language.

The login form carries its own CSRF token (a cookie plus a hidden field that must match: there is
no session yet to hold one). Every failed login is answered only after `FAILURE_DELAY` seconds,
the same page for every cause, and audited with the cause; the delay is awaited, so a flood of
wrong passwords holds no worker thread.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.i18n import LANGUAGES, pick_language
from server.console import audit
from server.console.accounts import login, set_language
from server.console.sessions import COOKIE, LIFETIME, end_session, start_session
from server.console.web import HEADERS, Page, page, render, root, safe_next, secure_cookies
from server.services import services

LOGIN_COOKIE = "pb_login_csrf"
FAILURE_DELAY = 1.0  # seconds every failed login waits before its answer

router = APIRouter()


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _login_form(request: Request, failed: bool, status: int = 200, next_url: str = "/console/") -> Response:
    token = secrets.token_urlsafe(24)
    lang = pick_language(None, request.headers.get("accept-language"))
    html = render(request, "login.html", lang, login_csrf=token, failed=failed, next_url=safe_next(next_url))
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=secure_cookies(request), path=f"{root(request)}/console/")
    return response


@router.get("/console/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/console/") -> Response:  # the query name
    return _login_form(request, failed=False, next_url=next)


@router.post("/console/login", include_in_schema=False)
async def login_submit(request: Request, name: Annotated[str, Form(max_length=200)] = "",
                       password: Annotated[str, Form(max_length=2000)] = "",
                       csrf: Annotated[str, Form(max_length=200)] = "",
                       next: Annotated[str, Form(max_length=2000)] = "/console/") -> Response:
    svc = services(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf.encode("utf-8", "replace")):
        await run_in_threadpool(audit.record_now, svc.sdb, svc.clock, name[:64] or "-", "login.refused",
                                detail="login form CSRF token missing or wrong", address=_address(request))
        return _login_form(request, failed=True, status=403, next_url=next)
    result = await run_in_threadpool(login, svc.sdb, name, password, svc.clock)
    if result.user is None:
        await run_in_threadpool(audit.record_now, svc.sdb, svc.clock, name[:64] or "-", "login.failed",
                                detail=result.reason, address=_address(request))
        await asyncio.sleep(FAILURE_DELAY)
        return _login_form(request, failed=True, status=401, next_url=next)
    token, _ = await run_in_threadpool(start_session, svc.sdb, result.user, svc.clock)
    await run_in_threadpool(audit.record_now, svc.sdb, svc.clock, result.user.name, "login",
                            address=_address(request))
    response = RedirectResponse(root(request) + safe_next(next), status_code=303, headers=HEADERS)
    response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), httponly=True, samesite="lax",
                        secure=secure_cookies(request), path=f"{root(request)}/console/")
    response.delete_cookie(LOGIN_COOKIE, path=f"{root(request)}/console/")
    return response


@router.post("/console/logout", include_in_schema=False)
def logout(p: Annotated[Page, Depends(page)], csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    p.check_csrf(csrf)
    end_session(p.svc.sdb, p.session)
    audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, "logout", address=_address(p.request))
    response = RedirectResponse(f"{root(p.request)}/console/login", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path=f"{root(p.request)}/console/")
    return response


@router.post("/console/language", include_in_schema=False)
def language(p: Annotated[Page, Depends(page)], csrf: Annotated[str, Form(max_length=200)] = "",
             lang: Annotated[str, Form(max_length=16)] = "",
             back: Annotated[str, Form(max_length=2000)] = "/console/") -> Response:
    p.check_csrf(csrf)
    chosen = lang if lang in LANGUAGES else ""
    set_language(p.svc.sdb, p.user, chosen, p.svc.clock)
    audit.record_now(p.svc.sdb, p.svc.clock, p.user.name, "language", detail=chosen or "browser")
    return RedirectResponse(root(p.request) + safe_next(back), status_code=303, headers=HEADERS)
