"""What every console page shares: templates, language, the session, CSRF, warehouse scope, headers.

Pages are rendered on the server with Jinja2 (autoescape on for every template: a shop or product
name with markup is shown as text) and work without JavaScript; the page CSP forbids scripts and
inline styles altogether. Every request needs a live session (`Login` → 303 to the login form);
every POST must carry the session's CSRF token. A warehouse outside the user's list is answered
404, exactly like one that does not exist, so ids in URLs reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.clock import parse_iso
from app.i18n import N_, Translator, pick_language, translator
from server.console.sessions import COOKIE, Session, csrf_matches, find_session
from server.services import Services, services

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}

env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)


class Login(Exception):
    """No live session: GET goes to the login form, anything else is refused."""


class NotFound(Exception):
    """404: a thing that does not exist, or is not the user's to see (the same answer for both)."""


class Forbidden(Exception):
    """403: the user is logged in, but their role may not do this, or the CSRF token is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Page:
    request: Request
    session: Session
    svc: Services

    @property
    def user(self) -> Any:
        return self.session.user

    @property
    def lang(self) -> str:
        return pick_language(self.user.lang, self.request.headers.get("accept-language"))

    @property
    def translator(self) -> Translator:
        return translator(self.lang)

    def warehouse(self, asked: str | None) -> str:
        """The warehouse a page shows: the one asked for if it is the user's, else 404; none asked → the first."""
        if not asked:
            return str(self.user.warehouses[0])
        if not self.user.sees(asked):
            raise NotFound()
        return asked

    def check_csrf(self, offered: str | None) -> None:
        if not csrf_matches(self.session, offered):
            raise Forbidden(N_("The form is out of date: reload the page and try again."))

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(self.request, template, self.lang, session=self.session, status=status,
                                   **context), status_code=status, headers=HEADERS)


def root(request: Request) -> str:
    return str(request.scope.get("root_path") or "")


def render(request: Request, template: str, lang: str, session: Session | None = None, **context: Any) -> str:
    t = translator(lang)
    zone = services(request).config.zone

    def local(text: str | None) -> str:
        """A stored UTC ISO time as the warehouse's local date and minute."""
        return parse_iso(text).astimezone(zone).strftime("%Y-%m-%d %H:%M") if text else "—"

    return env.get_template(template).render(
        _=t.gettext, ngettext=t.ngettext, lang=lang, root=root(request), session=session, local=local,
        user=session.user if session else None, csrf=session.csrf if session else "", path=request.url.path,
        **context)


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https" or services(request).config.public_url.startswith("https://")


def page(request: Request) -> Page:
    """FastAPI dependency of every console page: the live session, else `Login`."""
    svc = services(request)
    session = find_session(svc.sdb, request.cookies.get(COOKIE), svc.clock)
    if session is None:
        raise Login()
    return Page(request, session, svc)


def to_login(request: Request) -> Response:
    if request.method != "GET":
        return HTMLResponse(render(request, "error.html", pick_language(None, request.headers.get("accept-language")),
                                   status=403, reason=N_("Log in first.")), status_code=403, headers=HEADERS)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{root(request)}/console/login?next={quote(target, safe='')}", status_code=303,
                            headers=HEADERS)


def error_page(request: Request, status: int, reason: str) -> Response:
    svc = services(request)
    session = find_session(svc.sdb, request.cookies.get(COOKIE), svc.clock)
    lang = pick_language(session.user.lang if session else None, request.headers.get("accept-language"))
    return HTMLResponse(render(request, "error.html", lang, session=session, status=status, reason=reason),
                        status_code=status, headers=HEADERS)


def safe_next(target: str | None) -> str:
    """Only a console path of this site: never an absolute or scheme-relative URL (open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"
