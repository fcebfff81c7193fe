"""The audit chain's part of a pack: its verdict on itself and on the rows the pack prints."""

from __future__ import annotations

from typing import Any

from app.documents.words import DocumentWords
from app.evidence.layout import AMBER, GREEN, MM, RED, LocalTime, gap, heading, key_values, para, styles, text_table
from app.evidence.model import DocumentContext, EvidenceItem


def chain_line(ctx: DocumentContext) -> tuple[str, str]:
    """(text, colour) of the audit chain's state, as the summary and the digest both say it."""
    _ = ctx.words
    chain = ctx.chain
    if ctx.source is not None:  # rendered elsewhere: only the head the source keeps is known
        return _("chain head kept, not verified here — entry {entry}, {head}…: verify the chain at the station",
                 sep="\n", entry=chain.head_seq or "—", head=chain.head_hash[:16] or "—"), AMBER
    if chain.ok:
        return _("chain intact — {entries} entries, head {head}…", sep="\n", entries=chain.entries,
                 head=chain.head_hash[:16]), GREEN
    what = chain.problem.fields.get("what", chain.problem)  # the break without its entry, said just before
    return _("CHAIN BROKEN at entry {entry}: {problem}", sep="\n", entry=chain.entries + 1, problem=what), RED


def rows_line(item: EvidenceItem, words: DocumentWords) -> str:
    """The audit chain's verdict on the rows this pack prints: per kind, or each row that fails."""
    _ = words
    rows = item.rows
    assert rows is not None
    if rows.ok:
        return _("rows verified — {rows}", sep="\n", rows=rows.parts)
    return _("ROWS ALTERED — {problems}", sep="\n", problems=rows.problems)


def audit_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.platypus import KeepTogether

    _ = ctx.words
    s = styles()
    text, colour = chain_line(ctx)
    chain = ctx.chain
    state = [para(text, s.verdict, colour)]
    if item.rows is not None:
        state.append(para(rows_line(item, _), s.body, GREEN if item.rows.ok else RED))
        state += [para(_(problem, sep="\n"), s.mono, RED) for problem in item.rows.problems]
    head_label = _("Head hash") if chain.ok else _("Last good hash")
    counted = f"{chain.entries} " + (_("verified") if chain.ok else _("verified before the break"))
    if ctx.source is not None:
        head_label, counted = _("Head hash"), f"{chain.head_seq} " + _("(head kept, not verified here)")
    facts = key_values([
        (head_label, para(chain.head_hash, s.mono)), (_("Entries"), counted),
        (_("Verify with"), para(ctx.verify_command, s.mono)),
        (_("How"), _("The command recomputes every entry's hash; its entry count and head hash must match "
                     "this page.")),
    ], [24 * MM, 66 * MM, 24 * MM, 66 * MM])
    entries = item.evidence.audit
    head = (_("Seq"), _("Time"), _("Kind"), _("Actor"), _("Hash (first 20)"))
    rows = [[str(e.seq), when(e.at), e.kind, e.actor, e.hash[:20]] for e in entries]
    listing: list[Any] = [para(_("Audit entries that concern this order: {count}", sep="  ", count=len(entries)),
                               s.small)]
    if entries:
        listing.append(text_table(head, rows, [18 * MM, 30 * MM, 42 * MM, 40 * MM, 50 * MM]))
    return [KeepTogether([heading(11, _("Audit chain digest", sep="  ")), *state, gap(), facts]), gap(), *listing]
