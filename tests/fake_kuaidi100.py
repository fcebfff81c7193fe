"""A fake Kuaidi100 on a real socket (127.0.0.1), shaped after its public documents.

- `POST /label/order` (电子面单 V2): form `method`, `key`, `t`, `param`, `sign`; the sign must be
  upper-case MD5(param + t + key + secret), `t` Unix milliseconds. `order` needs `partnerId`,
  `kuaidicom`, `recMan`/`sendMan` with `name`, `mobile`, `printAddr`, and `pollCallBackUrl` when
  `needSubscribe` is true; it answers `{"success", "code": 200, "message", "data": {"taskId",
  "kuaidinum", "bulkpen", "orgCode", …, "kdComOrderNum"}, "time"}`. `cancel` needs `partnerId`,
  `kuaidicom`, `kuaidinum` of an order it gave. Errors: `{"success": false, "code": …, "message": …}`.
- `POST /poll` (订阅): form `schema=json` and `param` {company, number, key, parameters:
  {callbackurl, salt, resultv2, phone}}; answers `{"result", "returnCode", "message"}`: 200 提交成功,
  400 数据不完整, 501 重复订阅, 600 不是合法的订阅者 (bad key), 700 不支持的快递公司 / bad callback.

Every call is recorded; `fail(n, ...)` makes the next n calls of a path fail (an HTTP status, or
Kuaidi100's own error answer). `push(...)` sends a subscription push to a callback, signed with the salt.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

KNOWN = {"shunfeng": ("SF14", 11), "zhongtong": ("73", 12), "yuantong": ("YT", 13)}
ROUTES = {"shunfeng": ("755W-021A", "021A", "755WF", "021WJ"), "zhongtong": ("沪东 310-A2", "310", "570", "021"),
          "yuantong": ("上海浦东 200", "200", "021", "021")}


@dataclass
class Call:
    path: str
    content_type: str
    form: dict[str, str]

    @property
    def param(self) -> Any:
        return json.loads(self.form["param"])


@dataclass
class FakeKuaidi100:
    key: str = "K100-KEY"
    secret: str = "K100-SECRET"
    calls: list[Call] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # kuaidinum → order param (+ "cancelled")
    subscribed: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, dict[str, Any] | None]]] = field(default_factory=dict)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, path: str, times: int, status: int = 500, answer: dict[str, Any] | None = None) -> None:
        self.failures.setdefault(path, []).extend([(status, answer)] * times)

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.path == path and (method is None or c.form.get("method") == method)]

    # ----- the endpoints -----
    def handle(self, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        with self._lock:
            self.calls.append(Call(path, content_type, form))
            pending = self.failures.get(path)
            if pending:
                status, answer = pending.pop(0)
                return status, answer if answer is not None else "server error"
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return 200, _label_error(400, "请求格式错误: Content-Type 须为 application/x-www-form-urlencoded")
        if path == "/label/order":
            return 200, self._label(form)
        if path == "/poll":
            return 200, self._poll(form)
        return 404, "not found"

    def _label(self, form: dict[str, str]) -> dict[str, Any]:
        missing = [k for k in ("method", "key", "t", "param", "sign") if not form.get(k)]
        if missing:
            return _label_error(400, f"缺少参数 {','.join(missing)}")
        if form["key"] != self.key:
            return _label_error(401, "key 无效")
        if not (form["t"].isdigit() and len(form["t"]) == 13):
            return _label_error(400, "t 须为毫秒时间戳")
        expected = hashlib.md5((form["param"] + form["t"] + self.key + self.secret).encode()).hexdigest().upper()
        if form["sign"] != expected:
            return _label_error(30002, "验证签名失败")
        try:
            param = json.loads(form["param"])
        except ValueError:
            return _label_error(400, "param 不是 JSON")
        if form["method"] == "order":
            return self._order(param)
        if form["method"] == "cancel":
            return self._cancel(param)
        return _label_error(400, f"不支持的 method {form['method']}")

    def _order(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("kuaidicom") not in KNOWN:
            return _label_error(400, f"不支持的快递公司 {p.get('kuaidicom')}")
        if not p.get("partnerId"):
            return _label_error(400, "partnerId 不能为空")
        for man in ("recMan", "sendMan"):
            info = p.get(man)
            if not isinstance(info, dict) or any(not str(info.get(k) or "").strip()
                                                 for k in ("name", "mobile", "printAddr")):
                return _label_error(400, f"{man} 的 name, mobile, printAddr 不能为空")
        if p.get("needSubscribe") and not p.get("pollCallBackUrl"):
            return _label_error(400, "开启订阅时 pollCallBackUrl 不能为空")
        prefix, digits = KNOWN[p["kuaidicom"]]
        with self._lock:
            n = next(self._seq)
            number = prefix + str(n).rjust(digits, "0")
            self.orders[number] = dict(p)
            if p.get("needSubscribe"):
                self.subscribed[number] = {"callbackurl": p["pollCallBackUrl"], "salt": p.get("salt", ""),
                                           "via": "order"}
        bulkpen, dest, org_sort, dest_sort = ROUTES[p["kuaidicom"]]
        return {"success": True, "code": 200, "message": "success", "time": 87, "data": {
            "taskId": f"T{n:08d}", "kuaidinum": number, "childNum": "", "returnNum": "", "label": "",
            "bulkpen": bulkpen, "orgCode": "755", "orgName": "深圳", "destCode": dest, "destName": "上海",
            "orgSortingCode": org_sort, "orgSortingName": "深圳分拨", "destSortingCode": dest_sort,
            "destSortingName": "上海分拨", "pkgCode": "", "kdComOrderNum": f"KD{n:010d}"}}

    def _cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("partnerId") or not p.get("kuaidicom") or not p.get("kuaidinum"):
            return _label_error(400, "partnerId, kuaidicom, kuaidinum 不能为空")
        with self._lock:
            order = self.orders.get(p["kuaidinum"])
            if order is None or order["kuaidicom"] != p["kuaidicom"]:
                return _label_error(400, "单号不存在")
            if order.get("cancelled"):
                return _label_error(400, "该单号已取消")
            order["cancelled"] = p.get("reason", "")
        return {"success": True, "code": 200, "message": "success", "time": 41, "data": None}

    def _poll(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("schema") != "json" or not form.get("param"):
            return _poll_answer("400", "提交的数据不完整")
        try:
            p = json.loads(form["param"])
        except ValueError:
            return _poll_answer("400", "提交的数据不完整")
        if p.get("key") != self.key:
            return _poll_answer("600", "您不是合法的订阅者（即授权Key出错）")
        params = p.get("parameters") or {}
        if p.get("company") not in KNOWN or not p.get("number") or not str(params.get("callbackurl", "")).startswith(
                ("http://", "https://")):
            return _poll_answer("700", "订阅方的订阅数据存在错误（如不支持的快递公司、单号为空、单号超长等）"
                                       "或错误的回调地址")
        with self._lock:
            if p["number"] in self.subscribed:
                return _poll_answer("501", "重复订阅")
            self.subscribed[p["number"]] = {**params, "company": p["company"], "via": "poll"}
        return {"result": True, "returnCode": "200", "message": "提交成功"}


def _label_error(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "data": None, "time": 3}


def _poll_answer(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


def push(callback: str, salt: str, nu: str, items: list[dict[str, Any]], *, com: str = "shunfeng", state: str = "0",
         status: str = "polling", message: str = "") -> httpx.Response:
    """What Kuaidi100 POSTs to a subscription's callbackurl: form `param` and `sign` = MD5(param + salt)."""
    param = json.dumps({"status": status, "billstatus": "got", "message": message, "autoCheck": "0", "comOld": "",
                        "comNew": "", "lastResult": {"message": "ok", "nu": nu, "ischeck": "0", "condition": "00",
                                                     "com": com, "status": "200", "state": state, "data": items}},
                       ensure_ascii=False)
    sign = hashlib.md5((param + salt).encode()).hexdigest().upper()
    return httpx.post(callback, data={"param": param, "sign": sign}, timeout=10)


class FakeKuaidi100Server:
    """Serve a FakeKuaidi100 on 127.0.0.1 (port 0); `url` is both its `kuaidi100_api` and `kuaidi100_poll_api`."""

    def __init__(self, fake: FakeKuaidi100 | None = None) -> None:
        self.fake = fake or FakeKuaidi100()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, answer = owner.fake.handle(self.path.split("?")[0], self.headers.get("Content-Type", ""),
                                                   self.rfile.read(length))
                data = (json.dumps(answer, ensure_ascii=False) if not isinstance(answer, str) else answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8" if not isinstance(answer, str)
                                 else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeKuaidi100Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
