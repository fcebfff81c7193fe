"""Who may acknowledge or resolve a case at the station: a case's route names the least role that
works it (packer < supervisor < admin), and the person acting proves who they are with their badge.

- `act_by_badge`: the triage screen's badge scan and the CLI's `--by BADGE`; the operator is recorded
  as the actor. A packer's badge on a supervisor-routed case is refused, with the reason.
- `act_without_badge`: the CLI without `--by` — only for cases anyone may work that are not critical
  (a critical case must name who took it on); the actor stays "cli".

Changes made in the supervisors' console reach the station through sync (`sync.pull`), which calls
`app.cases.transition` directly: the console checked its user's role and that user stays the actor.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.audit import record_fact
from app.cases import NO_CASE, CaseError, transition
from app.clock import Clock
from app.i18n import N_, Phrase
from app.store import Store
from app.store.models import ExceptionCase, Operator
from app.terms import ROLES, named

ROLE_RANK = {"packer": 0, "line": 0, "supervisor": 1, "admin": 2}
ANONYMOUS_ACTOR = "cli"


class CaseRefused(CaseError):
    """The person may not act on the case; `text(lang)` is the reason in the screen's language, or the
    CLI's (the English line, `str()`, is the audit's)."""

    def __init__(self, reason: Phrase) -> None:
        super().__init__(reason)
        self.reason = reason


def required_role(case: ExceptionCase) -> str | None:
    """The role a case's route asks for, or None when any operator may work it."""
    route = str(case.route)
    return route if ROLE_RANK.get(route, 0) > 0 else None


def operator_by_badge(badge: str) -> Operator:
    operator = Operator.get_or_none((Operator.badge == badge.strip()) & (Operator.active == True))  # noqa: E712
    if operator is None:
        raise CaseRefused(Phrase(N_("unknown badge {badge}"), {"badge": badge.strip()[:64]}))
    return operator  # type: ignore[no-any-return]


def check_may_act(operator: Operator, case: ExceptionCase) -> None:
    role = required_role(case)
    if role is not None and ROLE_RANK.get(str(operator.role), 0) < ROLE_RANK[role]:
        raise CaseRefused(Phrase(N_("{name} may not act: case #{case} needs the role {needed} or above, "
                                    "{name} has the role {role}"),
                                 {"name": operator.name, "role": named(ROLES, str(operator.role)), "case": case.id,
                                  "needed": named(ROLES, role)}))


def _case(case_id: int) -> ExceptionCase:
    case = ExceptionCase.get_or_none(ExceptionCase.id == case_id)
    if case is None:
        raise CaseError(NO_CASE, case=case_id)
    return case  # type: ignore[no-any-return]


def badge_for(store: Store, clock: Clock, badge: str, case_ids: Sequence[int], state: str) -> Operator:
    """The operator whose badge may take `state` on every one of the cases. A refusal is audited
    (`exception.refused`: who or what was scanned, and why) before `CaseRefused` is raised."""
    operator: Operator | None = None
    try:
        operator = operator_by_badge(badge)
        for case_id in case_ids:
            check_may_act(operator, _case(case_id))
    except CaseRefused as refused:
        now = clock.now()
        with store.atomic():
            record_fact("exception.refused", str(operator.name) if operator is not None else "-", now, {
                "cases": list(case_ids), "state": state, "code": badge.strip()[:64], "reason": str(refused)})
        raise
    return operator


def act_by_badge(store: Store, clock: Clock, case_id: int, state: str, badge: str, note: str = "") -> ExceptionCase:
    """Acknowledge or resolve as the operator whose badge this is (refused: `CaseRefused`)."""
    operator = badge_for(store, clock, badge, [case_id], state)
    return transition(store, clock, case_id, state, str(operator.name), note)


def act_without_badge(store: Store, clock: Clock, case_id: int, state: str, note: str = "") -> ExceptionCase:
    case = _case(case_id)
    if case.severity == "critical":
        raise CaseRefused(Phrase(N_("case #{case} is critical: say who acts with --by BADGE"), {"case": case_id}))
    role = required_role(case)
    if role is not None:
        raise CaseRefused(Phrase(N_("case #{case} needs the role {needed} or above: act with --by BADGE"),
                                 {"case": case_id, "needed": named(ROLES, role)}))
    return transition(store, clock, case_id, state, ANONYMOUS_ACTOR, note)
