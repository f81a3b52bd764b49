"""The buttons under an answer and follow-up replies, through discord.py's own dispatch against
the local fake of Discord's REST API: what the bot sends is asserted as the JSON Discord gets."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.core.feedback import AnswerLog
from bot.core.question import follow_up
from bot.render import DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, TITLE_LIMIT
from bot.services import Services
from bot.state import sqlite_state
from tests.discord_fake import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    Request,
    ask_interaction,
    bot_user,
    component_interaction,
    direct_message,
    logged_in,
    member_user,
    message_payload,
    reply_message,
    returned_message,
)

QUESTION = "why did ETH fall 14%?"
DM_CHANNEL = direct_message("")["channel_id"]
DM_USER = direct_message("")["author"]["id"]
ASKER, OTHER = "1400000000000000031", "1400000000000000032"
ANSWER_ID = re.compile(r"[0-9a-f]{12}")
NO_PING = {"parse": []}
NO_PING_REPLY = {"parse": [], "replied_user": False}


@pytest.fixture
def services(corpus: Services, tmp_path: Path) -> Iterator[Services]:
    """The shared corpus (several articles, so answers cite several sources) with an answer
    log of its own, so what one test records and votes is not seen by another."""
    own = replace(corpus, answers=AnswerLog(sqlite_state(tmp_path)))
    yield own
    own.answers.state.close()


@pytest.fixture
async def bot(discord_api: FakeDiscord, services: Services) -> AsyncIterator[Any]:
    async with logged_in(services) as client:
        yield client


async def requests_to(
    fake: FakeDiscord, method: str, fragment: str, count: int, timeout: float = 30
) -> list[Request]:
    """The first `count` requests matching, once that many have been made."""
    return (await fake.wait_for_count(method, fragment, count, timeout))[:count]


async def ask(
    client: Any,
    fake: FakeDiscord,
    question: str = QUESTION,
    interaction_id: str = "1600000000000000301",
) -> Request:
    """/ask in the server; the follow-up carrying the answer."""
    fake.interact(client, ask_interaction(question, interaction_id=interaction_id, user_id=ASKER))
    return await fake.wait_for(
        "PATCH", f"/webhooks/{APP_ID}/token-{interaction_id}/messages/@original"
    )


async def click(
    client: Any,
    fake: FakeDiscord,
    custom_id: str,
    message: dict[str, Any],
    interaction_id: str,
    user_id: str = ASKER,
) -> Request:
    """A click on a button of `message`; the follow-up the bot sends for it."""
    fake.interact(
        client,
        component_interaction(custom_id, message, interaction_id=interaction_id, user_id=user_id),
    )
    return await fake.wait_for(
        "PATCH", f"/webhooks/{APP_ID}/token-{interaction_id}/messages/@original"
    )


def buttons(body: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """(label, custom_id) of each button, row by row."""
    rows = body.get("components") or []
    assert all(row["type"] == 1 for row in rows)  # action rows
    assert all(b["type"] == 2 for row in rows for b in row["components"])  # buttons
    return [[(b["label"], b["custom_id"]) for b in row["components"]] for row in rows]


def answer_id_of(body: dict[str, Any]) -> str:
    [[(label, custom_id), *_], *_] = buttons(body)
    assert label == "Sources"
    return custom_id.removeprefix("mb:src:")


async def test_an_answer_carries_sources_and_feedback_buttons_and_pings_nobody(
    bot: Any, discord_api: FakeDiscord, services: Services
) -> None:
    sent = await ask(bot, discord_api)

    answer_id = answer_id_of(sent.json)
    assert ANSWER_ID.fullmatch(answer_id)
    assert buttons(sent.json) == [
        [("Sources", f"mb:src:{answer_id}"), ("Helpful", f"mb:fb:helpful:{answer_id}")],
        [
            ("Wrong figure", f"mb:fb:wrong_figure:{answer_id}"),
            ("Wrong cause", f"mb:fb:wrong_cause:{answer_id}"),
            ("Outdated", f"mb:fb:outdated:{answer_id}"),
            ("Wrong asset", f"mb:fb:wrong_asset:{answer_id}"),
        ],
    ]
    assert sent.json["allowed_mentions"] == NO_PING
    stored = services.answers.get(answer_id)
    assert stored is not None and stored.question == QUESTION


async def test_sources_shows_privately_the_quote_behind_each_citation(
    bot: Any, discord_api: FakeDiscord, services: Services
) -> None:
    sent = await ask(bot, discord_api)
    answer_id = answer_id_of(sent.json)
    cited = sorted(
        {int(n) for n in re.findall(r"\[(\d+)\]", sent.json["embeds"][0]["description"])}
    )
    stored = services.answers.get(answer_id)
    assert stored is not None and len(stored.citations) >= 2

    followup = await click(
        bot,
        discord_api,
        f"mb:src:{answer_id}",
        returned_message(discord_api, sent),
        "1610000000000000301",
    )

    [callback] = discord_api.made("POST", "/interactions/1610000000000000301/")
    assert callback.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert callback.json["data"]["flags"] == 64  # ephemeral
    assert callback.at < followup.at
    assert followup.public is False
    assert followup.json["allowed_mentions"] == NO_PING
    [embed] = followup.json["embeds"]
    assert embed["title"] == f"Sources for: {QUESTION}"
    entries = embed["description"].split("\n\n")
    assert [int(e[1 : e.index("]")]) for e in entries] == [c.n for c in stored.citations]
    assert set(cited) <= {c.n for c in stored.citations}  # every [n] of the answer is listed
    for entry, citation in zip(entries, stored.citations, strict=True):
        head, quote = entry.split("\n> ")
        assert citation.title[:60] in head
        assert citation.url is None or f"({citation.url})" in head
        words = " ".join(citation.quote.split())
        assert quote == words or (quote.endswith(" …") and words.startswith(quote[:-2]))
    assert len(embed["title"]) <= TITLE_LIMIT
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    assert total <= EMBED_TOTAL_LIMIT


async def test_feedback_is_stored_once_per_user_and_exported_with_the_answer(
    bot: Any, discord_api: FakeDiscord, services: Services
) -> None:
    sent = await ask(bot, discord_api)
    answer_id = answer_id_of(sent.json)
    message = returned_message(discord_api, sent)
    helpful = f"mb:fb:helpful:{answer_id}"

    first = await click(bot, discord_api, helpful, message, "1610000000000000311")
    again = await click(bot, discord_api, helpful, message, "1610000000000000312")
    other = await click(bot, discord_api, helpful, message, "1610000000000000313", OTHER)
    figure = await click(
        bot, discord_api, f"mb:fb:wrong_figure:{answer_id}", message, "1610000000000000314"
    )

    assert first.json["content"] == "Thanks: recorded \u201chelpful\u201d for this answer."
    assert first.public is False and first.json["allowed_mentions"] == NO_PING
    callback = discord_api.made("POST", "/interactions/1610000000000000311/")[0]
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] == 64
    assert "already" in again.json["content"] and again.public is False
    assert other.json["content"].startswith("Thanks: recorded")
    assert figure.json["content"] == "Thanks: recorded \u201cwrong figure\u201d for this answer."
    [row] = services.answers.export()
    assert row["id"] == answer_id
    assert row["place"] == f"guild {GUILD_ID}"
    assert row["feedback"] == {"helpful": 2, "wrong_figure": 1}
    assert row["answer"]["question"] == QUESTION
    assert row["answer"]["answer"] == sent.json["embeds"][0]["description"]
    expected = json.loads(json.dumps(services.ask(QUESTION).to_json()["citations"]))
    assert row["answer"]["citations"] == expected and expected


async def test_the_buttons_still_work_after_a_restart(
    discord_api: FakeDiscord,
    services: Services,
    tmp_path: Path,
) -> None:
    async with logged_in(services) as before:
        sent = await ask(before, discord_api)
    answer_id = answer_id_of(sent.json)
    message = returned_message(discord_api, sent)
    # A new process: a new bot, and the answer log opened afresh from its file.
    restarted = replace(services, answers=AnswerLog(sqlite_state(tmp_path)))

    async with logged_in(restarted) as after:
        vote = await click(
            after, discord_api, f"mb:fb:wrong_cause:{answer_id}", message, "1610000000000000321"
        )
        quotes = await click(
            after, discord_api, f"mb:src:{answer_id}", message, "1610000000000000322"
        )

    assert vote.json["content"] == "Thanks: recorded \u201cwrong cause\u201d for this answer."
    assert quotes.json["embeds"][0]["title"] == f"Sources for: {QUESTION}"
    assert quotes.json["embeds"][0]["description"].startswith("[1] ")
    [row] = restarted.answers.export()
    assert row["id"] == answer_id and row["feedback"] == {"wrong_cause": 1}
    restarted.answers.state.close()


async def test_an_answer_without_sources_has_no_buttons(
    bot: Any, discord_api: FakeDiscord, services: Services
) -> None:
    question = "why did TSLA jump?"
    assert services.ask(question).status == "no_sources"

    sent = await ask(bot, discord_api, question)

    assert sent.json["embeds"][0]["title"] == question
    assert not sent.json.get("components")
    assert list(services.answers.export()) == []


async def dm_answer(client: Any, fake: FakeDiscord, question: str) -> dict[str, Any]:
    """Ask in a DM; the bot's answer message as the fake returned it."""
    fake.deliver(client, direct_message(question))
    sent = await fake.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    assert sent.json["components"]  # an answer with sources, so its buttons
    return returned_message(fake, sent)


@pytest.mark.parametrize(
    ("earlier", "reply", "title"),
    [
        (QUESTION, "what about on 3 Nov?", "what about on 3 Nov? (ETH)"),
        (QUESTION, "and what caused the liquidations?", "and what caused the liquidations? (ETH)"),
        (
            "why did ETH fall 14% on 4 Nov?",
            "and what about BTC?",
            "and what about BTC? (4 Nov 2025)",
        ),
    ],
)
async def test_a_dm_reply_to_an_answer_keeps_the_earlier_question_s_context(
    bot: Any,
    discord_api: FakeDiscord,
    services: Services,
    earlier: str,
    reply: str,
    title: str,
) -> None:
    assert follow_up(reply, earlier, services.assets, None, services.retriever.dates) == title
    answer = await dm_answer(bot, discord_api, earlier)

    discord_api.deliver(
        bot,
        reply_message(reply, answer, author=member_user(DM_USER), message_id="1910000000000000011"),
    )

    _, second = await requests_to(discord_api, "POST", f"/channels/{DM_CHANNEL}/messages", 2)
    assert int(second.json["message_reference"]["message_id"]) == 1910000000000000011
    [embed] = second.json["embeds"]
    assert embed["title"] == title
    assert embed["description"]
    assert second.json["allowed_mentions"] == NO_PING_REPLY


async def test_a_reply_to_an_answer_without_buttons_takes_the_context_from_its_title(
    bot: Any, discord_api: FakeDiscord
) -> None:
    answer = await dm_answer(bot, discord_api, QUESTION)
    answer["components"] = []  # an answer sent before the buttons, or no longer on record

    discord_api.deliver(
        bot, reply_message("what about on 3 Nov?", answer, author=member_user(DM_USER))
    )

    _, second = await requests_to(discord_api, "POST", f"/channels/{DM_CHANNEL}/messages", 2)
    assert second.json["embeds"][0]["title"] == "what about on 3 Nov? (ETH)"


async def test_a_follow_up_to_a_long_question_keeps_the_date_its_title_cut_off(
    bot: Any, discord_api: FakeDiscord
) -> None:
    long = (
        "why did ETH fall 14%, " + "and what did traders and funds say about it, " * 6 + "on 4 Nov?"
    )
    answer = await dm_answer(bot, discord_api, long)
    assert "4 Nov" not in answer["embeds"][0]["title"]  # shortened to Discord's 256

    discord_api.deliver(
        bot, reply_message("and what about BTC?", answer, author=member_user(DM_USER))
    )

    _, second = await requests_to(discord_api, "POST", f"/channels/{DM_CHANNEL}/messages", 2)
    assert second.json["embeds"][0]["title"] == "and what about BTC? (4 Nov 2025)"


async def test_everyone_in_a_follow_up_pings_nobody(bot: Any, discord_api: FakeDiscord) -> None:
    answer = await dm_answer(bot, discord_api, QUESTION)

    discord_api.deliver(
        bot,
        reply_message(
            "@everyone and what caused the liquidations?", answer, author=member_user(DM_USER)
        ),
    )

    _, second = await requests_to(discord_api, "POST", f"/channels/{DM_CHANNEL}/messages", 2)
    assert second.json["allowed_mentions"] == NO_PING_REPLY
    assert second.json["embeds"][0]["title"].startswith("@everyone and what caused")
    assert second.json["embeds"][0]["title"].endswith("(ETH)")


def server_reply(content: str, answer: dict[str, Any], *, ping: bool, message_id: str) -> Any:
    """A reply in the server to the bot's ANSWER; with the reply ping on, Discord lists the
    bot among its mentions (which is what lets a bot without the intent read it)."""
    return reply_message(
        content,
        answer,
        author=member_user(OTHER, "other"),
        guild_id=GUILD_ID,
        mentions=[bot_user()] if ping else [],
        message_id=message_id,
    )


@pytest.mark.parametrize(
    ("ping", "message_content"),
    [(True, False), (False, True)],
    ids=["pinging the bot", "not pinging, with MARKETBOT_MESSAGE_CONTENT"],
)
async def test_a_server_reply_to_an_answer_is_a_follow_up(
    discord_api: FakeDiscord, services: Services, ping: bool, message_content: bool
) -> None:
    settings = services.settings.model_copy(update={"message_content": message_content})
    async with logged_in(replace(services, settings=settings)) as client:
        assert client.intents.message_content is message_content
        sent = await ask(client, discord_api)
        content = "and what caused the liquidations?"

        discord_api.deliver(
            client,
            server_reply(
                content,
                returned_message(discord_api, sent),
                ping=ping,
                message_id="1910000000000000021",
            ),
        )
        reply = await discord_api.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")

    assert int(reply.json["message_reference"]["message_id"]) == 1910000000000000021
    assert reply.json["embeds"][0]["title"] == f"{content} (ETH)"
    assert reply.json["allowed_mentions"] == NO_PING_REPLY


async def test_without_the_intent_a_reply_that_does_not_ping_is_told_how_to_ask_once(
    bot: Any, discord_api: FakeDiscord
) -> None:
    assert not bot.intents.message_content  # the default: Discord withholds the reply's text
    answer = returned_message(discord_api, await ask(bot, discord_api))

    for n in range(3):
        discord_api.deliver(
            bot,
            server_reply(
                "and what caused the liquidations?",
                answer,
                ping=False,
                message_id=f"191000000000000011{n}",
            ),
        )
    hint = await discord_api.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    # Then a DM the bot does answer: once its reply is sent, the replies above had their turn.
    discord_api.deliver(bot, direct_message(QUESTION, "1910000000000000199"))
    await discord_api.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")

    assert "mention me" in hint.json["content"] and "/ask" in hint.json["content"]
    assert not hint.json.get("embeds")  # not an answer: the text was never read
    assert int(hint.json["message_reference"]["message_id"]) == 1910000000000000110
    assert hint.json["allowed_mentions"] == NO_PING_REPLY
    assert len(discord_api.made("POST", f"/channels/{CHANNEL_ID}/messages")) == 1  # once


async def test_a_server_reply_to_someone_else_that_does_not_mention_the_bot_is_ignored(
    bot: Any, discord_api: FakeDiscord
) -> None:
    someone = message_payload(
        "1910000000000000030", CHANNEL_ID, member_user(OTHER, "other"), QUESTION
    )
    before = len(discord_api.requests)

    discord_api.deliver(
        bot,
        reply_message(
            "what about on 3 Nov?",
            someone,
            author=member_user(ASKER),
            guild_id=GUILD_ID,
            message_id="1910000000000000031",
        ),
    )
    # Then a DM the bot does answer: once its reply is sent, the reply above has had its turn.
    discord_api.deliver(bot, direct_message(QUESTION, "1910000000000000032"))
    await discord_api.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")

    sent = discord_api.requests[before:]
    assert not [r for r in sent if CHANNEL_ID in r.path or "/webhooks/" in r.path], sent
    assert all(DM_CHANNEL in r.path for r in sent)


async def test_a_button_that_fails_tells_the_clicker_privately(
    bot: Any, discord_api: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = await ask(bot, discord_api)
    answer_id = answer_id_of(sent.json)

    def broken(self: AnswerLog, answer_id: str) -> Any:
        raise RuntimeError("the answer log went away")

    monkeypatch.setattr(AnswerLog, "get", broken)
    told = await click(
        bot,
        discord_api,
        f"mb:src:{answer_id}",
        returned_message(discord_api, sent),
        "1610000000000000391",
    )

    assert told.json["content"].startswith("Something went wrong on my side (reference ")
    assert told.public is False and "went away" not in json.dumps(told.json)
