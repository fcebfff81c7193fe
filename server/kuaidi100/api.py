"""Kuaidi100's HTTP APIs, as its public documents describe them.

E-waybill (电子面单 V2, "电子面单下单接口" / "电子面单取消接口"): `POST {kuaidi100_api}/label/order`,
form (`application/x-www-form-urlencoded`) fields `method` (`order` | `cancel`), `key`, `t` (Unix
milliseconds), `param` (JSON text) and `sign` = upper-case hex MD5(param + t + key + secret). The
answer is JSON `{"success": bool, "code": 200 | error code, "message": …, "data": {…}, "time": ms}`;
only `code` 200 with `success` true is a success.

Subscription (快递信息推送服务 "订阅接口"): `POST {kuaidi100_poll_api}/poll`, form `schema=json` and
`param` = `{"company", "number", "key", "parameters": {"callbackurl", "salt", "resultv2", "phone"}}`;
answer `{"result": bool, "returnCode": "200" | …, "message": …}`. `501` 重复订阅 means the number
is already subscribed, which is what we wanted.

Every failure is a `Kuaidi100Error` with Kuaidi100's own code and message; the caller (the carrier
jobs) retries with backoff and finally lists it for an admin.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import requests

from app.clock import Clock

TIMEOUT = (5.0, 20.0)  # connect, read: an e-waybill order waits on the carrier's own system
ALREADY_SUBSCRIBED = "501"


class Kuaidi100Error(Exception):
    """A call failed; `code` is Kuaidi100's (or the HTTP status, or "network")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"kuaidi100 {code}: {message}")
        self.code = code
        self.message = message


def sign(param: str, t: str, key: str, secret: str) -> str:
    """The e-waybill API's `sign`: upper-case hex MD5 of param + t + key + secret, concatenated."""
    return hashlib.md5((param + t + key + secret).encode("utf-8")).hexdigest().upper()


def param_text(param: dict[str, Any]) -> str:
    """The JSON text that is both sent and signed (Chinese kept as it is, as the demos send it)."""
    return json.dumps(param, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Kuaidi100Api:
    key: str
    secret: str
    api: str
    poll_api: str
    clock: Clock
    session: requests.Session | None = None

    def _post(self, url: str, form: dict[str, str]) -> Any:
        http = self.session or requests
        try:
            reply = http.post(url, data=form, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise Kuaidi100Error("network", f"{type(exc).__name__}: {exc}"[:300]) from None
        if reply.status_code != 200:
            raise Kuaidi100Error(str(reply.status_code), reply.text[:300] or "HTTP error")
        try:
            return reply.json()
        except ValueError:
            raise Kuaidi100Error("200", f"answer is not JSON: {reply.text[:200]!r}") from None

    def label(self, method: str, param: dict[str, Any]) -> dict[str, Any]:
        """One `label/order` call; returns its `data` object."""
        text = param_text(param)
        t = str(int(self.clock.now().timestamp() * 1000))
        body = self._post(f"{self.api}/label/order", {
            "method": method, "key": self.key, "t": t, "param": text, "sign": sign(text, t, self.key, self.secret)})
        if not isinstance(body, dict):
            raise Kuaidi100Error("200", "answer is not a JSON object")
        code = str(body.get("code", ""))
        if code != "200" or body.get("success") is False:
            raise Kuaidi100Error(code or "?", str(body.get("message") or "no message"))
        data = body.get("data")
        if method == "order" and not isinstance(data, dict):
            raise Kuaidi100Error(code, "success without a data object")
        return data if isinstance(data, dict) else {}

    def subscribe(self, company: str, number: str, parameters: dict[str, str]) -> None:
        param = {"company": company, "number": number, "key": self.key, "parameters": parameters}
        body = self._post(f"{self.poll_api}/poll", {"schema": "json", "param": param_text(param)})
        if not isinstance(body, dict):
            raise Kuaidi100Error("200", "answer is not a JSON object")
        code = str(body.get("returnCode", ""))
        if body.get("result") is True or code == ALREADY_SUBSCRIBED:
            return
        raise Kuaidi100Error(code or "?", str(body.get("message") or "no message"))
