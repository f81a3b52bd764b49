"""Answers as console text and as Discord embeds, always within Discord's limits."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.core.documents import Answer, Article, Citation

if TYPE_CHECKING:
    import discord

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
ELLIPSIS = " …"


def citation_line(citation: Citation) -> str:
    outlet = citation.outlet or "outlet unknown"
    date_ = citation.published_at or "date unknown"
    link = citation.url or "no link"
    also = (
        f"; also reported by {', '.join(citation.also_reported_by)}"
        if citation.also_reported_by
        else ""
    )
    return f"[{citation.n}] {citation.title} ({outlet}, {date_}{also}) {link}"


def answer_text(answer: Answer, today: date | None = None) -> str:
    """What the Discord embed shows, as plain text: the answer, its figures, its numbered
    sources and how fresh the newest of them is."""
    lines = [explanation(answer)]
    if answer.figures:
        lines += ["", "Figures:"] + [
            f"{f.get('label', 'Figure')}: {f.get('text', '')}" for f in answer.figures
        ]
    if answer.citations:
        lines += ["", "Sources:"] + [citation_line(c) for c in answer.citations]
        lines += ["", f"{freshness(answer, today)} · {origin(answer)}"]
    return "\n".join(lines)


def explanation(answer: Answer) -> str:
    """The answer's text, after the price check's sentence when the question's claim is off,
    and before the note saying why a generated answer could not be shown."""
    check = (answer.premise or {}).get("sentence")
    parts = [check, answer.answer, f"({answer.note})" if answer.note else None]
    return "\n\n".join(p for p in parts if p)


def origin(answer: Answer) -> str:
    """How the answer was written, for the footer."""
    if answer.path == "generated":
        model = (answer.generation or {}).get("model", "a language model")
        return f"Written by {model}, every sentence checked against its sources"
    return "Quoted from the sources"


def progress_embed(question: str, text: str) -> discord.Embed:
    """A generated answer while it is being written: only sentences the guard has passed."""
    import discord

    embed = discord.Embed(
        title=shorten(question, TITLE_LIMIT),
        description=shorten(text + ELLIPSIS, DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple(),
    )
    embed.set_footer(text="Writing… sources and figures follow when the answer is complete")
    return embed


def shorten(text: str, limit: int) -> str:
    """Text within `limit` characters, cut at a sentence (or else a word) boundary, never
    inside a word or a link."""
    if len(text) <= limit:
        return text
    room = text[: max(limit - len(ELLIPSIS), 0)]
    cut = max(room.rfind(". "), room.rfind("\n"), room.rfind("] "))
    if cut < len(room) // 2:  # no sentence end in the second half: cut at a word instead
        cut = room.rfind(" ")
    if cut <= 0:
        return room.rstrip() + ELLIPSIS if room else ""
    kept = room[: cut + 1].rstrip()
    # A markdown link cut open would render as raw brackets: drop the half link.
    if kept.count("[") > kept.count("]") or kept.count("(http") > kept.count(")"):
        kept = kept[: max(kept.rfind("["), 0)].rstrip()
    return kept + ELLIPSIS


def source_entry(citation: Citation) -> str:
    """One source as a markdown link with outlet and date: `[1] [Title](url) - Outlet, date`."""
    title = re.sub(r"[\[\]]", "", citation.title)[:150]
    head = f"[{title}]({citation.url})" if citation.url else title
    outlet = citation.outlet or "outlet unknown"
    when = citation.published_at or "date unknown"
    also = (
        f" (also {', '.join(citation.also_reported_by[:3])})" if citation.also_reported_by else ""
    )
    return f"[{citation.n}] {head} - {outlet}, {when}{also}"


def freshness(answer: Answer, today: date | None = None) -> str:
    dates = sorted(c.published_at for c in answer.citations if c.published_at)
    if not dates:
        return "No dated source"
    newest = date.fromisoformat(dates[-1])
    age = ((today or date.today()) - newest).days
    when = "today" if age <= 0 else "1 day ago" if age == 1 else f"{age} days ago"
    return f"Newest cited source: {newest:%-d %b %Y} ({when})"


def answer_embed(answer: Answer, today: date | None = None) -> discord.Embed:
    """The answer as one embed: explanation, linked sources, freshness footer."""
    import discord

    embed = discord.Embed(
        title=shorten(answer.question, TITLE_LIMIT),
        description=shorten(explanation(answer), DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple()
        if answer.status == "answered"
        else discord.Colour.light_grey(),
    )
    fields = _source_fields([source_entry(c) for c in answer.citations])
    for figure in answer.figures[:5]:
        fields.append(
            (
                str(figure.get("label", "Figure"))[:FIELD_NAME_LIMIT],
                shorten(str(figure.get("text", "")), FIELD_VALUE_LIMIT),
            )
        )
    footer = freshness(answer, today)
    if answer.status == "answered":
        footer += f" · {origin(answer)}"
    budget = EMBED_TOTAL_LIMIT - len(embed.title or "") - len(embed.description or "") - len(footer)
    for name, value in fields[:FIELDS_LIMIT]:
        if len(name) + len(value) > budget:
            break
        embed.add_field(name=name, value=value, inline=False)
        budget -= len(name) + len(value)
    embed.set_footer(text=footer[:FOOTER_LIMIT])
    return embed


def _source_fields(entries: list[str]) -> list[tuple[str, str]]:
    """Sources packed into fields of at most 1,024 characters, whole entries only."""
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    for entry in entries:
        entry = shorten(entry, FIELD_VALUE_LIMIT)
        if current and len("\n".join([*current, entry])) > FIELD_VALUE_LIMIT:
            fields.append(("Sources" if not fields else "More sources", "\n".join(current)))
            current = []
        current.append(entry)
    if current:
        fields.append(("Sources" if not fields else "More sources", "\n".join(current)))
    return fields


QUOTE_LIMIT = 700


def quotes_text(answer: Answer) -> str:
    """What each [n] rests on: the source, then the words quoted from it."""
    entries = []
    for citation in answer.citations:
        quote = shorten(" ".join(citation.quote.split()), QUOTE_LIMIT)
        entries.append(f"{source_entry(citation)}\n> {quote}" if quote else source_entry(citation))
    return "\n\n".join(entries) or "This answer cites no source."


def quotes_embed(answer: Answer) -> discord.Embed:
    """The Sources button's reply: the quotes behind each [n], within Discord's limits."""
    import discord

    embed = discord.Embed(
        title=shorten(f"Sources for: {answer.question}", TITLE_LIMIT),
        description=_whole_entries(quotes_text(answer).split("\n\n"), DESCRIPTION_LIMIT),
    )
    embed.set_footer(text=freshness(answer))
    return embed


def _whole_entries(entries: list[str], limit: int) -> str:
    """As many whole entries as fit, and a note of how many did not."""
    kept: list[str] = []
    for i, entry in enumerate(entries):
        rest = f"\n\n({len(entries) - i} more not shown)"
        if len("\n\n".join([*kept, entry])) + len(rest) > limit:
            return "\n\n".join(kept) + rest
        kept.append(entry)
    return "\n\n".join(kept)


def price_text(figures: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['label']}: {f['text']}" for f in figures)


def price_embed(figures: list[dict[str, Any]]) -> discord.Embed:
    """/price: the quote as the title's subject, every figure with its source and time."""
    import discord

    first = figures[0]
    embed = discord.Embed(
        title=shorten(str(first["label"]), TITLE_LIMIT),
        description=shorten(str(first["text"]), DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple()
        if first.get("status") == "live"
        else discord.Colour.light_grey(),
    )
    for figure in figures[1 : FIELDS_LIMIT + 1]:
        embed.add_field(
            name=str(figure["label"])[:FIELD_NAME_LIMIT],
            value=shorten(str(figure["text"]), FIELD_VALUE_LIMIT),
            inline=False,
        )
    status = {"live": "live", "last_known": "last known reading", "snapshot": "price history"}
    kind = status.get(str(first.get("status")), "?")
    embed.set_footer(text=f"Source: {first.get('source')} ({kind})"[:FOOTER_LIMIT])
    return embed


SOURCES_PER_PAGE = 10


def sources_embed(articles: list[Article], page: int, query: str | None = None) -> discord.Embed:
    """One page of stored articles, newest first, each with its id, date and outlet."""
    import discord

    pages = max(1, -(-len(articles) // SOURCES_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = articles[(page - 1) * SOURCES_PER_PAGE : page * SOURCES_PER_PAGE]
    lines = []
    for article in shown:
        when = f"{article.published_at:%Y-%m-%d}" if article.published_at else "undated"
        title = re.sub(r"[\[\]]", "", article.title)[:120]
        head = f"[{title}]({article.url})" if article.url else title
        flag = f" \u26a0 flagged: {', '.join(article.flags)}" if article.flags else ""
        lines.append(f"`{article.id}` {when} {head} - {article.outlet or 'outlet unknown'}{flag}")
    about = f" matching \u201c{query}\u201d" if query else ""
    embed = discord.Embed(
        title=shorten(f"{len(articles)} stored articles{about}", TITLE_LIMIT),
        description=shorten(
            "\n".join(lines) or ("No stored article matches." if query else "Nothing stored yet."),
            DESCRIPTION_LIMIT,
        ),
    )
    embed.set_footer(text=f"Page {page} of {pages}")
    return embed
