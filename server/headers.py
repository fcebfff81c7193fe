"""Security headers on every response the server sends, whichever route made it.

Every response gets `X-Content-Type-Options: nosniff`; every HTML response also gets a CSP that
allows no script, `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY` — unless its route set
its own (the console sets a stricter CSP of its own and a same-origin referrer policy).
"""

from __future__ import annotations

from server.limits import ASGIApp, Message, Receive, Scope, Send

ALWAYS = ((b"x-content-type-options", b"nosniff"),)
HTML = (
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                html = any(name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                           for name, value in headers)
                headers += [(name, value) for name, value in ALWAYS + (HTML if html else ())
                            if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
