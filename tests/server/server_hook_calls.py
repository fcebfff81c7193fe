"""Helpers to call the carrier hooks as the carriers do."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from server_harness import SALT, WEBHOOK_SECRET, Running


def generic_push(server: Running, events: list[tuple[str, str, str, str]], carrier: str = "SF",
                 secret: str = WEBHOOK_SECRET) -> httpx.Response:
    body = json.dumps({"events": [{"carrier": carrier, "tracking_no": t, "time": when, "context": text,
                                   "status": status, "site": "杭州"} for t, when, text, status in events]},
                      ensure_ascii=False).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return server.http.post("/hooks/carriers/generic", content=body,
                            headers={"Content-Type": "application/json", "X-PackBench-Signature": signature})


def kuaidi100_param(nu: str, data: list[dict[str, Any]], com: str = "shunfeng", state: str = "0") -> str:
    return json.dumps({"status": "polling", "message": "", "autoCheck": "0", "comOld": "", "comNew": "",
                       "lastResult": {"message": "ok", "state": state, "status": "200", "condition": "F00",
                                      "ischeck": "0", "com": com, "nu": nu, "data": data}}, ensure_ascii=False)


def kuaidi100_push(server: Running, param: str, salt: str = SALT, sign: str | None = None) -> httpx.Response:
    if sign is None:
        sign = hashlib.md5((param + salt).encode()).hexdigest().upper()
    return server.http.post("/hooks/carriers/kuaidi100", data={"param": param, "sign": sign})
