"""Running rules over orders and turning hits into exception cases (docs/architecture.md §9.1).

`run_rules(store, clock, ruleset, trigger, order_ids)` evaluates the enabled rules whose `when` holds
the trigger ("all": every enabled rule) over the given orders (None: every order) and opens one case
per hit through `app.cases.open_case` with the key `"{rule.id}:{order_id}"` (`key = "order"`),
`"{rule.id}:{tracking_no}"` (`key = "parcel"`) or `"{rule.id}:{sku}"` (`key = "sku"`: one case per
SKU, tested line by line, whose detail lists the orders that hit it; a later order is added to the
live case's list). Re-running never duplicates a live case (open_case),
and a case a supervisor resolved stays resolved while the facts it was about are unchanged: the case
detail holds the values the condition read and their fingerprint; the same rule on the same
unchanged values does not reopen it, a change (a new tracking event, a corrected phone) does.
A resolved case opened by a built-in check with the same key (`not_handed_over:…`, `intercept:…`)
has no fingerprint: the rule leaves that key alone, as the built-in checks do.

Cases of one batch of orders commit in one transaction (each case with its audit entry and outbox
event, as open_case records them): one fsync per batch instead of per case.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.cases import RULE_TITLE, open_case
from app.clock import Clock, iso
from app.i18n import Phrase
from app.labels import mask_phone
from app.rules.context import IN_CHUNK, OrderContext, contexts, needs_of, order_pks, window_metrics
from app.rules.loader import TRIGGERS, Rule, RuleSet
from app.store import Store
from app.store.models import ExceptionCase, Order, Shipment
from app.store.states import CaseState

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
ALL = "all"  # trigger: every enabled rule (after the rules themselves change; benchmarks)
PACK_CHECK = "pack_check"  # trigger recorded on cases opened by `blocking_rules`
ANY_FACTS = "*"  # stands for the fingerprint of a resolved case that has none (a built-in check's)


def evaluate(store: Store, clock: Clock, rules: Sequence[Rule], order_ids: Sequence[str] | None = None,
             since: datetime | None = None, progress: Progress | None = None,
             ) -> Iterator[list[tuple[Rule, OrderContext]]]:
    """The hits of `rules`, one list per batch of orders; reads only, writes nothing.

    `order_ids`: these orders (None: all); `since`: only orders created or changed since then;
    `progress(done, total)` after each batch, in orders. A `key = "sku"` rule is tested once per
    line, its `lines` being that one line: a hit is about that line's SKU (`OrderContext.sku`).
    """
    if not rules:
        return
    now = clock.now().timestamp()
    needs = needs_of({f for r in rules for f in r.condition.analysis.fields},
                     {w for r in rules for w in r.condition.analysis.windows})
    metrics = window_metrics(store, now, needs.windows)
    pks = order_pks(store, order_ids, iso(since) if since else None)
    plan = [(rule, rule.condition.test, rule.key) for rule in rules]
    failures: dict[str, int] = {}
    done = 0
    for batch in contexts(store, pks, now, needs, metrics, contiguous=order_ids is None and since is None):
        hits: list[tuple[Rule, OrderContext]] = []
        for item in batch:
            ctx, parcel = item.ctx, bool(item.tracking_no)
            for rule, test, key in plan:
                if key == "parcel" and not parcel:
                    continue
                try:
                    if key != "sku":
                        if test(ctx):
                            hits.append((rule, item))
                        continue
                    for one in ctx.lines:
                        if one[0]["sku"] and test(per_line := ctx.with_lines([one])):
                            hits.append((rule, replace(item, ctx=per_line, sku=one[0]["sku"])))
                except Exception:  # data the schema did not foresee (SQLite is loosely typed): skip, tell once
                    if rule.id not in failures:
                        log.exception("rule %s failed on order %s", rule.id, item.order_id)
                    failures[rule.id] = failures.get(rule.id, 0) + 1
        done += len(batch)
        if progress is not None:
            progress(done, len(pks))
        yield hits
    for rule_id, count in failures.items():
        log.warning("rule %s failed on %d order(s) and was skipped for them", rule_id, count)


def run_rules(store: Store, clock: Clock, ruleset: RuleSet, trigger: str, order_ids: Sequence[str] | None = None,
              *, since: datetime | None = None, actor: str = "rules", progress: Progress | None = None,
              ) -> list[ExceptionCase]:
    """Evaluate and open cases; returns the cases opened by this run.

    For the timer pass give `since` (e.g. 30 days ago): a store of 10^6 orders holds months of
    delivered ones, and re-reading them every few minutes would cost seconds each time.
    """
    if trigger != ALL and trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r} (known: {', '.join(TRIGGERS)}, {ALL})")
    rules = ruleset.active(None if trigger == ALL else trigger)
    return _run(store, clock, ruleset, rules, trigger, order_ids, actor, since, progress)


def blocking_rules(store: Store, clock: Clock, ruleset: RuleSet, order: Order,
                   actor: str = "rules") -> list[Rule]:
    """The blocking rules this order is tagged with: it must not be packed without a supervisor.

    Evaluates every enabled blocking rule on this order now (whatever its `when`: the order may have
    changed without a trigger), opens their cases, and returns the rules whose case is live (open or
    acknowledged). A case a supervisor resolved no longer blocks.
    """
    rules = ruleset.blocking
    if not rules:
        return []
    _run(store, clock, ruleset, rules, PACK_CHECK, [order.order_id], actor, None)
    live = {rule_id for (rule_id,) in ExceptionCase.select(ExceptionCase.rule_id).where(
        (ExceptionCase.order == order.id) & (ExceptionCase.state != CaseState.RESOLVED)
        & ExceptionCase.rule_id.in_([r.id for r in rules])).tuples()}
    return [r for r in rules if r.id in live]


def order_ids_for_waybills(store: Store, waybills: Sequence[str]) -> list[str]:
    """Order numbers of the parcels (live shipments, or waybills bound to orders) with these numbers."""
    found: set[str] = set()
    unique = list(dict.fromkeys(waybills))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start:start + IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = store.db.execute_sql(
            f'SELECT o."order_id" FROM "shipment" s JOIN "order" o ON o."id" = s."order_id" '
            f'WHERE s."voided" = 0 AND s."tracking_no" IN ({marks}) '
            f'UNION SELECT "order_id" FROM "order" WHERE "tracking_no" IN ({marks})', [*chunk, *chunk])
        found.update(order_id for (order_id,) in rows)
    return sorted(found)


def _run(store: Store, clock: Clock, ruleset: RuleSet, rules: Sequence[Rule], trigger: str,
         order_ids: Sequence[str] | None, actor: str, since: datetime | None,
         progress: Progress | None = None) -> list[ExceptionCase]:
    opened: list[ExceptionCase] = []
    for hits in evaluate(store, clock, rules, order_ids, since, progress):
        if hits:
            opened.extend(_open(store, clock, ruleset, trigger, hits, actor))
    return opened


def _open(store: Store, clock: Clock, ruleset: RuleSet, trigger: str, hits: list[tuple[Rule, OrderContext]],
          actor: str) -> list[ExceptionCase]:
    keyed: dict[str, tuple[Rule, OrderContext]] = {}
    orders_of: dict[str, list[str]] = {}  # per-SKU key → the orders that hit it, in order
    for rule, item in hits:
        key = rule.dedupe_key(item.order_id, item.tracking_no, item.sku)
        keyed.setdefault(key, (rule, item))
        if rule.key == "sku":
            orders_of.setdefault(key, []).append(item.order_id)
    live = _live(list(keyed))
    _add_orders(store, clock, {key: orders_of[key] for key in live if key in orders_of})
    keyed = {key: hit for key, hit in keyed.items() if key not in live}
    resolved = _resolved(list(keyed))
    todo: list[tuple[str, Rule, OrderContext, dict[str, Any], str]] = []
    for key, (rule, item) in keyed.items():
        facts = rule.condition.facts(item.ctx)
        if rule.key == "sku":  # about the SKU, not one order: its orders change, the facts do not
            facts = {path: value for path, value in facts.items() if not path.startswith(("order.", "line."))}
        fingerprint = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]
        settled = resolved.get(key, set())
        if fingerprint not in settled and ANY_FACTS not in settled:
            todo.append((key, rule, item, facts, fingerprint))
    if not todo:
        return []
    orders = _rows(Order, [item.pk for _, _, item, _, _ in todo])
    parcels = _rows(Shipment, [item.shipment_pk for _, _, item, _, _ in todo if item.shipment_pk])
    opened: list[ExceptionCase] = []
    with store.atomic():
        for key, rule, item, facts, fingerprint in todo:
            who = {"parcel": item.tracking_no, "sku": item.sku}.get(rule.key, item.order_id)
            detail = {"trigger": trigger, "rules_version": ruleset.version, "rules_source": rule.source,
                      "fingerprint": fingerprint, "facts": _masked(facts)}
            if rule.key == "sku":
                detail["orders"] = orders_of[key]
            case = open_case(
                store, clock, dedupe_key=key, tag=rule.tag, rule_id=rule.id, severity=rule.severity,
                route=rule.route, title=Phrase(RULE_TITLE, {"subject": who, "title": Phrase(rule.title)}),
                sop=rule.sop,
                order=orders.get(item.pk) if rule.key != "sku" else None,
                shipment=parcels.get(item.shipment_pk) if item.shipment_pk else None, actor=actor, detail=detail,
            )
            if case is not None:
                opened.append(case)
    return opened


def _add_orders(store: Store, clock: Clock, orders_of: dict[str, list[str]]) -> None:
    """A live per-SKU case lists every order that hit it: later orders are added to its detail."""
    if not orders_of:
        return
    with store.atomic():
        for case in ExceptionCase.select().where(
                (ExceptionCase.state != CaseState.RESOLVED) & ExceptionCase.dedupe_key.in_(list(orders_of))):
            detail = json.loads(case.detail or "{}")
            known = detail.setdefault("orders", [])
            new = [o for o in orders_of[case.dedupe_key] if o not in known]
            if new:
                known.extend(new)
                case.detail = json.dumps(detail, ensure_ascii=False)
                case.updated_at = iso(clock.now())
                case.save()


def _live(keys: list[str]) -> set[str]:
    """Keys with a live case (the partial unique index `exception_case_one_live` answers this)."""
    live: set[str] = set()
    for start in range(0, len(keys), IN_CHUNK):
        live.update(key for (key,) in ExceptionCase.select(ExceptionCase.dedupe_key).where(
            (ExceptionCase.state != CaseState.RESOLVED)
            & ExceptionCase.dedupe_key.in_(keys[start:start + IN_CHUNK])).tuples())
    return live


def _resolved(keys: list[str]) -> dict[str, set[str]]:
    """Per key, the fingerprints of its resolved cases; ANY_FACTS for a case a built-in check opened
    (it has none): a rule never reopens what a supervisor resolved there, as the built-ins do not.
    No index serves dedupe_key among resolved cases (the one on it is partial), so this runs only
    for hits without a live case."""
    out: dict[str, set[str]] = {}
    for start in range(0, len(keys), IN_CHUNK):
        query = ExceptionCase.select(ExceptionCase.dedupe_key, ExceptionCase.detail).where(
            (ExceptionCase.state == CaseState.RESOLVED) & ExceptionCase.dedupe_key.in_(keys[start:start + IN_CHUNK]))
        for key, detail in query.tuples():
            try:
                fingerprint = json.loads(detail).get("fingerprint")
            except (ValueError, AttributeError):
                fingerprint = None
            out.setdefault(key, set()).add(fingerprint or ANY_FACTS)
    return out


def _rows(model: Any, pks: list[int]) -> dict[int, Any]:
    unique = list(dict.fromkeys(pks))
    out: dict[int, Any] = {}
    for start in range(0, len(unique), IN_CHUNK):
        out.update((row.id, row) for row in model.select().where(model.id.in_(unique[start:start + IN_CHUNK])))
    return out


def _masked(facts: dict[str, Any]) -> dict[str, Any]:
    """Phones as everywhere a case may be shown: 138****5678 (docs/architecture.md §3.6)."""
    return {path: (mask_phone(value) if "phone" in path and isinstance(value, str) else value)
            for path, value in facts.items()}
