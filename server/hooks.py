"""Carrier webhooks (docs/architecture.md §11.4). Neither is ever open: without its secret configured, a hook
refuses every call (503).

- `POST /hooks/carriers/kuaidi100`: Kuaidi100's push callback, form fields `param` (JSON) and
  `sign` = upper-case hex MD5(param + salt). Answered in its reply format
  `{"result": …, "returnCode": …, "message": …}`: 200 stored (or a replay: "duplicate", nothing
  stored again — a body is kept once per hook and SHA-256); 400 unreadable; 401 bad sign;
  500 our failure (Kuaidi100 retries a push that did not get `result: true`).
- `POST /hooks/carriers/generic`: JSON `{"events": [...]}` (`GenericTrackingPush`) with header
  `X-PackBench-Signature` = hex HMAC-SHA256(secret, raw body) (a `sha256=` prefix is accepted).
  With the optional `X-PackBench-Timestamp` (Unix seconds) the signature is over `TIMESTAMP.` + body
  and a push more than 5 minutes off the server's clock is refused (401): a captured push cannot be
  replayed later.
  Each event is validated on its own; the answer counts new and duplicate events and lists the
  rejected ones by index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from protocol import WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_WINDOW_SECONDS, ErrorBody
from server.kuaidi100.subscriptions import on_push_status
from server.limits import NestingError, loads_bounded
from server.schemas import GenericHookResult, Kuaidi100Reply
from server.services import refuse, services
from server.tracking import PushError, ingest, parse_generic, parse_kuaidi100

log = logging.getLogger("server.hooks")
router = APIRouter(prefix="/hooks/carriers")
KUAIDI100_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["param", "sign"],
    "properties": {"param": {"type": "string", "description": "the push, JSON text"},
                   "sign": {"type": "string", "description": "upper-case hex MD5(param + salt)"}}}}}}}
GENERIC_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/GenericTrackingPush"}}}}}


def _reply(status: int, ok: bool, message: str) -> JSONResponse:
    body = Kuaidi100Reply(result=ok, returnCode=str(status), message=message)
    return JSONResponse(body.model_dump(), status_code=status)


def kuaidi100_sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()


@router.post("/kuaidi100", response_model=Kuaidi100Reply, openapi_extra=KUAIDI100_BODY,
             responses={400: {"model": Kuaidi100Reply}, 401: {"model": Kuaidi100Reply},
                        503: {"model": Kuaidi100Reply}})
async def kuaidi100_push(request: Request) -> JSONResponse:
    """Kuaidi100 subscription push: one parcel's trail per call."""
    svc = services(request)
    salt = svc.config.kuaidi100_salt
    if not salt:
        log.error("kuaidi100 push refused: no salt configured (PACKBENCH_KUAIDI100_SALT)")
        return _reply(503, False, "未配置 not configured")
    try:
        form = await request.form()
    except Exception:  # any unreadable body is the sender's problem, in their format
        return _reply(400, False, "请求格式错误 unreadable form")
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not isinstance(sign, str) or not param:
        refuse(request, 400, "kuaidi100 push without param or sign", "kuaidi100")
        return _reply(400, False, "缺少参数 param and sign are required")
    if not hmac.compare_digest(kuaidi100_sign(param, salt).encode(), sign.strip().upper().encode("utf-8")):
        refuse(request, 401, "kuaidi100 push with a bad sign", "kuaidi100")
        return _reply(401, False, "签名错误 bad sign")
    try:
        push = parse_kuaidi100(param, svc.config.zone)
    except PushError as exc:
        refuse(request, 400, f"kuaidi100 push unreadable: {exc}", "kuaidi100")
        return _reply(400, False, f"参数错误 {exc}")
    try:
        result = await run_in_threadpool(_ingest, request, "kuaidi100", param, push.records)
        if push.status in ("abort", "shutdown"):  # the subscription stopped: renew it, or tell the station
            await run_in_threadpool(on_push_status, svc.sdb, push.status, push.message, push.carrier,
                                    push.tracking_no, svc.clock)
    except Exception:
        log.exception("kuaidi100 push not stored")
        return _reply(500, False, "服务器错误 server error")
    if result.replayed:
        return _reply(200, True, "重复推送 duplicate")
    log.info("kuaidi100 push: %d events, %d new", result.received, result.new)
    return _reply(200, True, "成功")


def _ingest(request: Request, source: str, body: str, records: Any) -> Any:
    svc = services(request)
    with svc.sdb.connection():
        return ingest(svc.sdb, source, body, records, svc.clock)


@router.post("/generic", response_model=GenericHookResult, openapi_extra=GENERIC_BODY,
             responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 413: {"model": ErrorBody},
                        503: {"model": ErrorBody}})
async def generic_push(request: Request) -> Any:
    """Tracking events from any carrier integration, signed with the shared webhook secret."""
    svc = services(request)
    secret = svc.config.webhook_secret
    if not secret:
        log.error("generic carrier push refused: no secret configured (PACKBENCH_WEBHOOK_SECRET)")
        return JSONResponse({"detail": "webhook secret not configured"}, status_code=503)
    given = (request.headers.get(WEBHOOK_SIGNATURE_HEADER) or "").strip().lower().removeprefix("sha256=")
    if not given:  # refused before the body is read
        raise refuse(request, 401, f"missing {WEBHOOK_SIGNATURE_HEADER}", "generic-hook")
    stamp = request.headers.get(WEBHOOK_TIMESTAMP_HEADER)
    if stamp is not None:
        if not stamp.strip().isdigit() or len(stamp.strip()) > 12:
            raise refuse(request, 401, f"{WEBHOOK_TIMESTAMP_HEADER} must be Unix seconds", "generic-hook")
        skew = int(stamp) - int(svc.clock.now().timestamp())
        if abs(skew) > WEBHOOK_WINDOW_SECONDS:
            raise refuse(request, 401, f"{WEBHOOK_TIMESTAMP_HEADER} is {abs(skew)} s away from the server's clock "
                                       f"(at most {WEBHOOK_WINDOW_SECONDS} s)", "generic-hook")
    raw = await request.body()  # at most 1 MB: server.limits ended a larger one with 413
    signed = raw if stamp is None else stamp.strip().encode("ascii") + b"." + raw
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
        raise refuse(request, 401, "bad signature", "generic-hook")
    try:
        text = raw.decode("utf-8")
        records, rejected = parse_generic(loads_bounded(text), svc.config.zone)
    except NestingError as exc:
        raise refuse(request, 400, str(exc), "generic-hook") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise refuse(request, 400, "body is not UTF-8 JSON", "generic-hook") from None
    except PushError as exc:
        raise refuse(request, 400, str(exc), "generic-hook") from None
    result = await run_in_threadpool(_ingest, request, "generic", text, records)
    for item in rejected:
        log.warning("generic carrier push: event %d rejected: %s", item.index, item.reason)
    return GenericHookResult(received=result.received, new=result.new, duplicates=result.duplicates,
                             rejected=rejected, status="duplicate" if result.replayed else "stored")
