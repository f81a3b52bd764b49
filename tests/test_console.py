"""The terminal console: the same answers as the CLI, one line at a time."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from bot.console import handle_line, run_console
from bot.render import answer_embed
from bot.services import Services
from tests.conftest import MakeServices
from tests.legacy_store import store_uncleaned


def test_a_plain_line_is_answered_with_numbered_sources(seeded: Services) -> None:
    reply = handle_line(seeded, "why did ETH fall 14%?")

    assert reply is not None
    assert "14%" in reply
    assert "Sources:" in reply
    markers = set(re.findall(r"\[(\d+)\]", reply.split("Sources:")[0]))
    listed = set(re.findall(r"^\[(\d+)\] ", reply.split("Sources:")[1], re.MULTILINE))
    assert markers and markers == listed
    assert "2025-11-05" in reply  # the source line carries its date


def test_slash_ask_is_the_same_as_a_plain_line(seeded: Services) -> None:
    plain = handle_line(seeded, "why did ETH fall 14%?")
    asked = handle_line(seeded, "/ask why did ETH fall 14%?")

    assert asked == plain


def test_sources_lists_the_stored_articles_with_their_ids(seeded: Services) -> None:
    reply = handle_line(seeded, "/sources")

    [article] = seeded.sources()
    assert reply is not None
    assert article.id in reply
    assert article.title in reply
    assert "(1 article)" in reply


def test_help_lists_the_commands(seeded: Services) -> None:
    reply = handle_line(seeded, "/help")

    assert reply is not None
    for command in ("/ask", "/sources", "/help", "/quit"):
        assert command in reply


def test_an_unknown_command_points_to_help(seeded: Services) -> None:
    reply = handle_line(seeded, "/frobnicate now")

    assert reply is not None
    assert "/frobnicate" in reply
    assert "/help" in reply


@pytest.mark.parametrize("line", ["/ask", "/ask    "])
def test_ask_without_a_question_explains_what_to_type(seeded: Services, line: str) -> None:
    reply = handle_line(seeded, line)

    assert reply is not None
    assert "Ask a question" in reply


@pytest.mark.parametrize("line", ["/quit", "/exit", "/QUIT"])
def test_quit_ends_the_session(seeded: Services, line: str) -> None:
    assert handle_line(seeded, line) is None


def test_an_empty_line_gets_an_empty_reply(seeded: Services) -> None:
    assert handle_line(seeded, "") == ""


def test_a_session_keeps_going_after_a_bad_line_and_stops_at_quit(seeded: Services) -> None:
    stdin = io.StringIO("/nope\n/ask\nwhy did ETH fall 14%?\n/quit\n/help\n")
    output = io.StringIO()

    run_console(seeded, stdin, Console(file=output, width=200))

    text = output.getvalue()
    assert "Unknown command /nope" in text
    assert "Ask a question" in text
    assert "Sources:" in text
    assert "/sources" not in text.split("Sources:")[-1]  # /help after /quit was never run


def test_the_console_prints_what_the_discord_embed_shows(seeded: Services) -> None:
    question = "why did ETH fall 14%?"
    reply = handle_line(seeded, question)
    embed = answer_embed(seeded.ask(question))

    assert reply is not None
    assert embed.description and reply.startswith(embed.description)
    assert embed.footer.text and embed.footer.text in reply  # how fresh the newest source is
    for citation in seeded.ask(question).citations:
        assert citation.title in reply
        assert citation.published_at and citation.published_at in reply
        assert (citation.outlet or "outlet unknown") in reply


@pytest.mark.parametrize(("query", "found"), [("eth", 1), ("terror", 1), ("dogecoin", 0)])
def test_sources_filters_by_asset_or_title_as_discord_does(
    seeded: Services, query: str, found: int
) -> None:
    reply = handle_line(seeded, f"/sources {query}")

    assert reply is not None
    assert reply.endswith(
        f"({found} article{'' if found == 1 else 's'} matching \u201c{query}\u201d)"
    )


HOSTILE_TITLE = "Ether \x1b[2J\u202e[bold]slides[/bold] :warning: as funds bleed"


def test_the_console_shows_a_hostile_title_as_visible_text(make_services: MakeServices) -> None:
    services = make_services()
    services.ingest_text(
        "Ether slides as funds bleed",
        "Ether fell 14% on Tuesday as leveraged long positions were liquidated across exchanges.",
        ingested_by="cli",
    )
    [article] = services.sources()
    store_uncleaned(services, article.id, title=HOSTILE_TITLE)  # stored before ingestion cleaned
    stdin = io.StringIO("why did ETH fall 14%?\n/sources\n")
    output = io.StringIO()

    run_console(services, stdin, Console(file=output, width=200))

    text = output.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    # Escapes shown as escapes, markup and emoji codes as the characters they are.
    shown = "Ether \\x1b[2J\\u202e[bold]slides[/bold] :warning: as funds bleed"
    assert text.count(shown) == 2  # in the answer's sources and in /sources


def test_a_reply_follows_up_the_last_answer_keeping_its_asset_and_moving_its_day(
    seeded: Services,
) -> None:
    session = replace(seeded)  # a console of its own: nothing asked in it yet
    before = handle_line(session, "/reply and BTC?")
    handle_line(session, "why did ETH fall 14% on 4 Nov?")
    day_after = handle_line(session, "/reply and the day after?")

    assert before == "Nothing to reply to yet: ask a question first."
    assert day_after is not None
    assert day_after.startswith("and the day after? (ETH, 5 Nov 2025)")
    assert "ETH rose" in day_after and "5 Nov 2025" in day_after


def test_watch_adds_lists_and_removes_the_consoles_watches(make_services: MakeServices) -> None:
    services = make_services(seed=False)

    added = handle_line(services, "/watch add ether 5 4h down")
    listed = handle_line(services, "/watch list")
    removed = handle_line(services, "/watch remove ETH")
    after = handle_line(services, "/watch list")

    assert added is not None and added.startswith("Watching ETH 5% down within 4h")
    assert listed is not None and "ETH 5% down within 4h, added by console" in listed
    assert "No live prices" in listed  # offline: said, and nothing is posted
    assert removed == "Stopped watching ETH 5% down within 4h."
    assert after is not None and "No watches here yet" in after


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/watch add ETH 5 2h upward", "Not a window (1h, 4h, 24h) or a direction"),
        ("/watch add ETH 0.1", "between 0.5% and 50%"),
        ("/watch add FLOOPCOIN 5", "I don't know the asset"),
        ("/watch add SPY 3", "SPY can't be watched: the live exchanges trade crypto only"),
        ("/watch remove ETH", "This channel does not watch ETH"),
        ("/watch sideways", "Try /watch add ETH 5"),
    ],
)
def test_a_watch_it_cannot_add_says_why_and_stores_nothing(
    make_services: MakeServices, line: str, says: str
) -> None:
    services = make_services(seed=False)

    reply = handle_line(services, line)

    assert reply is not None and says in reply
    assert "No watches here yet" in (handle_line(services, "/watch list") or "")


def test_adding_a_watch_again_says_what_it_changed(make_services: MakeServices) -> None:
    services = make_services(seed=False)
    handle_line(services, "/watch add BTC 3 1h up")

    changed = handle_line(services, "/watch add BTC 4 1h")
    other = handle_line(services, "/watch remove BTC 4h")

    assert changed is not None and changed.startswith(
        "Changed the watch here: it was BTC 3% up within 1h; now BTC 4% either way within 1h."
    )
    assert other == "This channel does not watch BTC over 4h."


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("ping me if ETH drops 5%", "/watch add asset:ETH threshold:5"),
        ("alert me when bitcoin pumps 10%", "/watch add asset:BTC threshold:10"),
        ("can you set up an alert for SOL?", "/watch add asset:SOL threshold:5"),
    ],
)
def test_asking_to_be_alerted_points_to_watch_instead_of_explaining_a_move(
    seeded: Services, line: str, command: str
) -> None:
    reply = handle_line(seeded, line)

    assert reply is not None and command in reply
    assert "[1]" not in reply  # no quote passed off as the answer


@pytest.mark.parametrize(
    "line",
    [
        "why did ETH fall when bitcoin dropped 7%?",
        "tell me once more why ETH fell 14%",
        "let me know if ETH fell 14% because of the liquidations",
        "can you tell me when ETH dropped 14%?",
    ],
)
def test_a_question_about_a_past_move_that_says_when_or_if_is_still_answered(
    seeded: Services, line: str
) -> None:
    reply = handle_line(seeded, line)

    assert reply is not None and "/watch add" not in reply and "[1]" in reply


def test_asking_to_be_alerted_of_a_stock_says_it_cannot_be_watched(seeded: Services) -> None:
    reply = handle_line(seeded, "alert me if SPY drops 80%")

    assert reply is not None and "SPY can't be watched" in reply and "threshold:80" not in reply
