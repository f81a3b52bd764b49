"""Answers as console text and as Discord embeds, always within Discord's limits."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from bot.core.documents import Answer, Article, Citation, Figure
from bot.core.text import strip_unsafe, web_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    import discord

    from bot.alerts.model import Watch
    from bot.alerts.watcher import Alert
    from bot.market.figures import Quote

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

# What Discord's Markdown reads in text. Everything a source sends (titles, outlets, quotes,
# the sentences of an answer) is text, so each of these is escaped, or, for mentions, broken by
# a zero-width space: masked links ([ ]), emphasis, underline, strikethrough, spoilers and code
# (* _ ~ | `), block quotes and headings (> #), lists at a line's start (- + 1.), autolinks
# (the : of ://, and discord.gg/ invites, linked without one), and mention syntax (@everyone,
# @here, <@1>, <@!1>, <@&1>, <#1>, </cmd:1>, and <t:1> or <:emoji:1> with them). The backslash
# itself is escaped first, so a source cannot escape our own syntax. discord.utils'
# escape_markdown is not used: it handles no mention, ordered list or bare autolink, and its
# masked-link pattern (\[.+\]\(.+\)) backtracks on a long line.
_MARKDOWN = re.compile(
    r"(?P<marker>\[\d{1,3}\](?!\())"
    r"|(?P<char>[\\*_~|`>#\[\]])"
    r"|^(?P<indent>[ \t]*)(?:(?P<bullet>[-+])(?=[ \t#]|$)|(?P<ordinal>\d{1,9})\.(?=[ \t]|$))"
    r"|(?P<mention>@)(?=everyone|here)"
    r"|(?P<angle><)"
    r"|(?P<scheme>:)(?=//)"
    r"|(?P<invite>discord(?:app)?)(?=\.gg/|\.com/invite/)",
    re.IGNORECASE | re.MULTILINE,
)
ZWSP = "\u200b"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 article", "2 articles"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def escape_markdown(text: str, *, markers: bool = False, bullets: bool = False) -> str:
    """Text that Discord shows as it is written: no link, mention, heading or formatting of
    its own, no control or bidi character. With `markers`, our [n] citation markers stay as
    they are (a [n] followed by "(" is escaped: it could open a link); with `bullets`, so does
    a "- " opening a line (the causes of an answer are listed so)."""

    def escape(match: re.Match[str]) -> str:
        if match["marker"]:
            return match[0] if markers else f"\\[{match[0][1:-1]}\\]"
        if match["char"]:
            return "\\" + match[0]
        if match["bullet"]:
            if bullets and match["bullet"] == "-" and match.string.startswith(" ", match.end()):
                return match[0]
            return f"{match['indent']}\\{match['bullet']}"
        if match["ordinal"]:
            return f"{match['indent']}{match['ordinal']}\\."
        if match["scheme"]:
            return "\\:"
        return match[0] + ZWSP  # @ before everyone or here, every <, an invite's "discord"

    return _MARKDOWN.sub(escape, strip_unsafe(text))


def inline_markdown(text: str, limit: int | None = None) -> str:
    """A title, an outlet or a quote as one line of escaped text, of at most `limit`
    characters of the original (cut before escaping, so an escape is never cut in two)."""
    line = " ".join(strip_unsafe(text).split())
    if limit is not None and len(line) > limit:
        line = line[:limit].rstrip() + "…"
    return escape_markdown(line)


# Characters a link target keeps as they are; everything else (the ( ) < > [ ] space \ " ' `
# ^ { } | that can end or break a Markdown link target, and any non-ASCII) is percent-encoded.
_LINK_SAFE = "!#$%&*+,/:;=?@-._~"
MAX_LINK_CHARS = 512


def safe_link(url: str | None) -> str | None:
    """The URL as a link target Discord and a terminal read whole: a web address as
    text.web_url accepts it (http(s), a valid host, no blank space, control or bracket), with
    no user name, at most 512 characters, a look-alike host in its xn-- form and the rest
    percent-encoded; None otherwise."""
    valid = web_url(url)
    if valid is None or len(valid) > MAX_LINK_CHARS:
        return None
    parts = urlsplit(valid)
    host = parts.hostname or ""
    if "@" in parts.netloc or _private_address(host):
        return None
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    elif not host.isascii():
        host = host.encode("idna").decode("ascii")  # web_url checked that it encodes
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    target = f"{parts.scheme.lower()}://{netloc}{quote(parts.path, safe=_LINK_SAFE)}"
    if parts.query:
        target += "?" + quote(parts.query, safe=_LINK_SAFE)
    if parts.fragment:
        target += "#" + quote(parts.fragment, safe=_LINK_SAFE)
    return target


def _private_address(host: str) -> bool:
    """Whether host is an address on the reader's own network (a router's 192.168.1.1, a
    loopback): a link a source planted there would be a request forged in the reader's name."""
    from bot.web.fetch import forbidden

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: where it resolves is not known here
    return forbidden(host) is not None


def link_or_text(url: str) -> str:
    """A URL for a message's content: `<url>` (a link, without a preview) when it is a safe
    link, else the address as escaped text, which nothing makes clickable."""
    link = safe_link(url)
    return f"<{link}>" if link else inline_markdown(url, 200)


def citation_line(citation: Citation) -> str:
    outlet = citation.outlet or "outlet unknown"
    date_ = citation.published_at or "date unknown"
    link = safe_link(citation.url) or "no link"
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
        lines += ["", "Figures:"] + [f"{f.label}: {f.text}" for f in answer.figures]
    if answer.citations:
        lines += ["", "Sources:"] + [citation_line(c) for c in answer.citations]
        lines += ["", f"{freshness(answer, today)} · {origin(answer)}"]
    return "\n".join(lines)


def explanation(answer: Answer) -> str:
    """The answer's text: first the move as the price data has it (with the premise corrected
    when the question's claim is off), then what the sources say, then the note saying why a
    generated answer could not be shown."""
    first = answer.lead or (answer.premise.sentence if answer.premise else None)
    parts = [first, answer.answer, f"({answer.note})" if answer.note else None]
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
        title=shorten(strip_unsafe(question), TITLE_LIMIT),
        description=shorten(answer_markdown(text) + ELLIPSIS, DESCRIPTION_LIMIT),
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
    opened = _open_link(kept)
    if opened is not None:
        kept = kept[:opened].rstrip()
    return kept + ELLIPSIS


def _open_link(text: str) -> int | None:
    """Where a link ([title](url)) or a [n] left open at the end of `text` starts, if one is.
    Escaped brackets are text; our link titles hold no bracket and our link targets no ")"."""
    opened: int | None = None
    in_target = False
    i = 0
    while i < len(text):
        char = text[i]
        if in_target:
            if char == ")":
                in_target, opened = False, None
        elif char == "\\":
            i += 1  # the next character is escaped
        elif char == "[":
            opened = i
        elif char == "]" and opened is not None:
            if text.startswith("(", i + 1):
                in_target, i = True, i + 1
            else:
                opened = None
        i += 1
    return opened


def source_entry(citation: Citation) -> str:
    """One source as a markdown link with outlet and date: `[1] [Title](url) - Outlet, date`.
    The title, outlet and date are text; only a safe link (see safe_link) is a link."""
    head = linked_title(citation.title, citation.url, 150)
    outlet = inline_markdown(citation.outlet, 80) if citation.outlet else "outlet unknown"
    when = inline_markdown(citation.published_at) if citation.published_at else "date unknown"
    others = [inline_markdown(o, 80) for o in citation.also_reported_by[:3]]
    also = f" (also {', '.join(others)})" if others else ""
    return f"[{citation.n}] {head} - {outlet}, {when}{also}"


def linked_title(title: str, url: str | None, limit: int) -> str:
    """`[Title](url)`, or the title and "(no link)" when the URL is not a safe link."""
    text = inline_markdown(re.sub(r"[\[\]]", "", title), limit) or "untitled"
    link = safe_link(url)
    return f"[{text}]({link})" if link else f"{text} (no link)"


def answer_markdown(text: str) -> str:
    """An answer's text for Discord: all of it escaped but our [n] markers and the "- " of
    the listed causes, since its sentences are quoted from (or written over) sources."""
    return escape_markdown(text, markers=True, bullets=True)


def freshness(answer: Answer, today: date | None = None) -> str:
    dates = sorted(c.published_at for c in answer.citations if c.published_at)
    if not dates:
        return "No dated source"
    newest = date.fromisoformat(dates[-1])
    age = ((today or date.today()) - newest).days
    if age < -1:  # a day ahead is a time zone; more is a date the source got wrong
        when = "a date in the future"
    elif age <= 0:
        when = "today"
    else:
        when = "1 day ago" if age == 1 else f"{age} days ago"
    return f"Newest cited source: {newest:%-d %b %Y} ({when})"


def answer_embed(answer: Answer, today: date | None = None) -> discord.Embed:
    """The answer as one embed: explanation, linked sources, freshness footer."""
    import discord

    embed = discord.Embed(
        title=shorten(strip_unsafe(answer.question), TITLE_LIMIT),
        description=shorten(answer_markdown(explanation(answer)), DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple()
        if answer.status == "answered"
        else discord.Colour.light_grey(),
    )
    fields = _source_fields([source_entry(c) for c in answer.citations])
    for figure in answer.figures[:5]:
        fields.append(
            (
                inline_markdown(figure.label, FIELD_NAME_LIMIT // 2),
                shorten(escape_markdown(figure.text), FIELD_VALUE_LIMIT),
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
        quote = shorten(inline_markdown(citation.quote), QUOTE_LIMIT)
        entries.append(f"{source_entry(citation)}\n> {quote}" if quote else source_entry(citation))
    return "\n\n".join(entries) or "This answer cites no source."


def quotes_embed(answer: Answer) -> discord.Embed:
    """The Sources button's reply: the quotes behind each [n], within Discord's limits."""
    import discord

    embed = discord.Embed(
        title=shorten(f"Sources for: {strip_unsafe(answer.question)}", TITLE_LIMIT),
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


def price_text(figures: Sequence[Figure]) -> str:
    return "\n".join(f"{f.label}: {f.text}" for f in figures)


def price_embed(quote: Quote, figures: Sequence[Figure] = ()) -> discord.Embed:
    """/price: the quote as the title's subject, every other figure (a perpetual's metrics)
    with its source and time."""
    import discord

    embed = discord.Embed(
        title=shorten(strip_unsafe(quote.label), TITLE_LIMIT),
        description=shorten(escape_markdown(quote.text), DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple() if quote.status == "live" else discord.Colour.light_grey(),
    )
    for figure in figures[:FIELDS_LIMIT]:
        embed.add_field(
            name=inline_markdown(figure.label, FIELD_NAME_LIMIT // 2),
            value=shorten(escape_markdown(figure.text), FIELD_VALUE_LIMIT),
            inline=False,
        )
    status = {"live": "live", "last_known": "last known reading", "snapshot": "price history"}
    # The source is in the description too; the footer's copy is short, so the embed stays
    # within Discord's 6,000 characters in all.
    footer = f"Source: {shorten(quote.source, 200)} ({status[quote.status]})"
    embed.set_footer(text=strip_unsafe(footer)[:FOOTER_LIMIT])
    return embed


SOURCES_PER_PAGE = 10
# Every line of a page fits whole: a page never drops its last article.
SOURCE_LINE_LIMIT = DESCRIPTION_LIMIT // SOURCES_PER_PAGE - 1


def _source_line(article: Article) -> str:
    """One article of /sources within its share of the page, as written (escapes included):
    linked, else without its link, else with a shorter title and outlet."""
    when = f"{article.published_at:%Y-%m-%d}" if article.published_at else "undated"
    flag = f" \u26a0 flagged: {', '.join(article.flags)}" if article.flags else ""
    line = ""
    for title_limit, outlet_limit, linked in ((120, 80, True), (120, 80, False), (50, 30, False)):
        head = (
            linked_title(article.title, article.url, title_limit)
            if linked
            else inline_markdown(article.title, title_limit) or "untitled"
        )
        outlet = (
            inline_markdown(article.outlet, outlet_limit) if article.outlet else "outlet unknown"
        )
        line = f"`{article.id}` {when} {head} - {outlet}{flag}"
        if len(line) <= SOURCE_LINE_LIMIT:
            break
    return line


def sources_embed(articles: list[Article], page: int, query: str | None = None) -> discord.Embed:
    """One page of stored articles, newest first, each with its id, date and outlet."""
    import discord

    pages = max(1, -(-len(articles) // SOURCES_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = articles[(page - 1) * SOURCES_PER_PAGE : page * SOURCES_PER_PAGE]
    lines = [_source_line(article) for article in shown]
    about = f" matching \u201c{strip_unsafe(query)}\u201d" if query else ""
    embed = discord.Embed(
        title=shorten(f"{len(articles)} stored articles{about}", TITLE_LIMIT),
        description=shorten(
            "\n".join(lines) or ("No stored article matches." if query else "Nothing stored yet."),
            DESCRIPTION_LIMIT,
        ),
    )
    embed.set_footer(text=f"Page {page} of {pages}")
    return embed


# -- move alerts ---------------------------------------------------------------------------


def alert_text(alert: Alert) -> str:
    """An alert as the terminal shows it: what moved, then the answer as `ask` prints it."""
    lines = [alert.headline(), "", answer_text(alert.answer)]
    if alert.chart_caption:
        lines += ["", alert.chart_caption]
    return "\n".join(lines)


def alert_content(alert: Alert, updated: str | None = None) -> str:
    """The alert message's text above its embed (the asset is a symbol of our table, the
    numbers ours); `updated` says when news that explains it was added."""
    content = f"**{alert.headline()}**"
    if updated:
        content += f"\nUpdated {updated}: news that explains the move has come in."
    return shorten(content, CONTENT_LIMIT)


def watch_added_text(watch: Watch, previous: Watch | None, where: str = "here") -> str:
    """What /watch add did: a new watch, or the one it changed (and what it was)."""
    if previous is None:
        return f"Watching {watch.describe()} {where}."
    was = previous.describe() + (" (stopped)" if previous.disabled else "")
    return f"Changed the watch {where}: it was {was}; now {watch.describe()}."


def watches_text(
    watches: Sequence[Watch], status: str | None = None, limit: int | None = None
) -> str:
    """/watch list: each watch with who added it, and why it stopped if it did; within
    `limit` characters, whole lines only."""
    lines = [status] if status else []
    for w in watches:
        line = f"- {w.describe()}, added by {who(w.added_by)} on {w.added_at[:10]}"
        if w.disabled:
            line += f" (stopped: {inline_markdown(w.disabled, 200)}; /watch add starts it again)"
        lines.append(line)
    if not watches:
        lines.append("No watches here yet: /watch add asset threshold [window]")
    text = "\n".join(lines)
    while limit is not None and len(text) > limit and len(lines) > 1:
        lines.pop()
        text = "\n".join([*lines, f"(and {len(watches) - len(lines) + bool(status)} more)"])
    return text


def who(added_by: str) -> str:
    """`discord:123` as a mention Discord renders (allowed_mentions stays none: no ping)."""
    if added_by.startswith("discord:") and added_by[8:].isdigit():
        return f"<@{added_by[8:]}>"
    return inline_markdown(added_by, 80)
