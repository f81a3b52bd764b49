"""Answers as console text (Discord embeds come with the Discord layer)."""

from __future__ import annotations

from bot.core.documents import Answer, Citation


def citation_line(citation: Citation) -> str:
    outlet = citation.outlet or "outlet unknown"
    date = citation.published_at or "date unknown"
    link = citation.url or "no link"
    also = (
        f"; also reported by {', '.join(citation.also_reported_by)}"
        if (citation.also_reported_by)
        else ""
    )
    return f"[{citation.n}] {citation.title} ({outlet}, {date}{also}) {link}"


def answer_text(answer: Answer) -> str:
    """The answer, then its numbered sources."""
    lines = [answer.answer]
    if answer.citations:
        lines += ["", "Sources:"] + [citation_line(c) for c in answer.citations]
    return "\n".join(lines)
