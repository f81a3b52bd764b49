"""Discord's own rules for the bot, through discord.py's dispatch against the validating fake:
errors after a public defer reach the user alone, every way of asking shares one limit, /news
installs to servers only, and a mention is a question, never a failed command."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.client import command_payloads
from bot.core.documents import Answer
from bot.errors import InputError, NotFoundError
from bot.services import Services
from tests.discord_fake import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    ask_interaction,
    bot_user,
    logged_in,
    member_user,
    mention_message,
    message_payload,
    reply_message,
    returned_message,
)

ASKER = "1400000000000000501"
DM_CHANNEL = "1300000000000000501"
NO_PING_REPLY = {"parse": [], "replied_user": False}


@pytest.fixture
async def bot(discord_api: FakeDiscord, seeded: Services) -> AsyncIterator[Any]:
    async with logged_in(seeded) as client:
        yield client


def mention(content: str, message_id: str, user_id: str = ASKER) -> dict[str, Any]:
    return mention_message(content, message_id, user_id)


def dm(content: str, message_id: str, user_id: str = ASKER) -> dict[str, Any]:
    return message_payload(message_id, DM_CHANNEL, member_user(user_id), content)


def command(name: str, option: str, value: Any, interaction_id: str, **extra: Any) -> Any:
    payload = ask_interaction(
        str(value), command=name, option=option, interaction_id=interaction_id, user_id=ASKER
    )
    for key, more in extra.items():
        payload["data"]["options"].append({"name": key, "type": 4, "value": more})
    return payload


@pytest.mark.parametrize("which", ["ask", "price", "chart"])
async def test_a_failure_after_a_public_defer_is_told_to_the_asker_alone(
    bot: Any, discord_api: FakeDiscord, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    def broken_ask(self: Services, question: str, **kwargs: Any) -> Answer:
        raise RuntimeError("the store went away")

    def no_price(self: Services, word: str) -> Any:
        raise NotFoundError("I have no price for ETH, live or in the snapshot.")

    def no_chart(self: Services, word: str, days: int = 7, around: Any = None) -> Any:
        raise InputError("Charts cover 1 Sep 2025 to today.")

    monkeypatch.setattr(Services, "ask", broken_ask)
    monkeypatch.setattr(Services, "price", no_price)
    monkeypatch.setattr(Services, "chart", no_chart)
    option = {"ask": "question", "price": "asset", "chart": "asset"}[which]
    value = "why did ETH fall?" if which == "ask" else "eth"
    discord_api.interact(bot, command(which, option, value, "1600000000000000501"))

    told = await discord_api.wait_for("POST", f"/webhooks/{APP_ID}/token-1600000000000000501")

    [callback] = discord_api.made("POST", "/callback")
    assert callback.json["type"] == 5 and not callback.json.get("data")  # a public defer
    # The "thinking" message is deleted, then the message follows to the asker alone.
    [deleted] = discord_api.made("DELETE", "/messages/@original")
    assert callback.at < deleted.at < told.at
    assert told.json["flags"] & 64 and told.public is False
    expected = {
        "ask": "Something went wrong on my side (reference ",
        "price": "I have no price for ETH",
        "chart": "Charts cover 1 Sep 2025 to today.",
    }[which]
    assert told.json["content"].startswith(expected)
    assert "the store went away" not in json.dumps(told.json)
    assert all(expected not in json.dumps(r.json) for r in discord_api.shown_publicly())


async def test_every_way_of_asking_shares_one_limit_per_user(
    bot: Any, discord_api: FakeDiscord
) -> None:
    # Three questions in 30 s: by /ask, by a mention, by a reply (with the ping on).
    discord_api.interact(
        bot, command("ask", "question", "why did ETH fall?", "1600000000000000511")
    )
    answer = await discord_api.answer_to("1600000000000000511")
    discord_api.deliver(bot, mention("why did BTC fall?", "1920000000000000511"))
    await discord_api.wait_for_count("POST", f"/channels/{CHANNEL_ID}/messages", 1)
    discord_api.deliver(
        bot,
        reply_message(
            "and what caused the liquidations?",
            returned_message(discord_api, answer),
            author=member_user(ASKER),
            guild_id=GUILD_ID,
            mentions=[bot_user()],
            message_id="1920000000000000512",
        ),
    )
    answered = await discord_api.wait_for_count("POST", f"/channels/{CHANNEL_ID}/messages", 2)
    assert all(r.json.get("embeds") for r in answered)  # all three were answered

    # The fourth, by DM, and the fifth, by /ask, are over the limit.
    discord_api.deliver(bot, dm("why did SOL fall?", "1920000000000000513"))
    [notice] = await discord_api.wait_for_count("POST", f"/channels/{DM_CHANNEL}/messages", 1)
    discord_api.interact(
        bot, command("ask", "question", "why did ETH fall?", "1600000000000000512")
    )
    refused = await discord_api.wait_for("POST", "/interactions/1600000000000000512/")

    assert notice.json["content"].startswith("Slow down a little: try again in ")
    assert notice.json["content"].endswith(" s.") and not notice.json.get("embeds")
    assert int(notice.json["message_reference"]["message_id"]) == 1920000000000000513
    assert notice.json["allowed_mentions"] == NO_PING_REPLY
    assert refused.json["type"] == 4 and refused.json["data"]["flags"] & 64
    assert refused.json["data"]["content"].startswith("Slow down a little: try again in ")


@pytest.mark.parametrize("way", ["dm", "mention"])
async def test_messages_over_the_limit_get_one_notice_then_silence(
    bot: Any, discord_api: FakeDiscord, way: str
) -> None:
    channel = DM_CHANNEL if way == "dm" else CHANNEL_ID
    make = dm if way == "dm" else mention
    for n in range(6):
        discord_api.deliver(bot, make("why did ETH fall?", f"192000000000000052{n}"))
    sent = await discord_api.wait_for_count("POST", f"/channels/{channel}/messages", 4)
    # Another user's question: once it is answered, the six above have had their turn.
    discord_api.deliver(
        bot, make("why did ETH fall?", "1920000000000000529", user_id="1400000000000000599")
    )
    await discord_api.wait_for_count("POST", f"/channels/{channel}/messages", 5)

    sent = discord_api.made("POST", f"/channels/{channel}/messages")
    notices = [r for r in sent if "try again in" in (r.json.get("content") or "")]
    answers = [r for r in sent if r.json.get("embeds")]
    assert len(answers) == 4 and len(notices) == 1  # three of the six, and the other user's
    assert int(notices[0].json["message_reference"]["message_id"]) == 1920000000000000523


async def test_chart_renders_are_limited_per_user(bot: Any, discord_api: FakeDiscord) -> None:
    for n in range(3):
        discord_api.interact(
            bot, command("chart", "asset", "eth", f"160000000000000053{n}", days=7)
        )
        await discord_api.wait_for("POST", f"/interactions/160000000000000053{n}/")

    callbacks = [
        discord_api.made("POST", f"/interactions/160000000000000053{n}/")[0].json for n in range(3)
    ]
    assert [c["type"] for c in callbacks] == [5, 5, 4]
    assert callbacks[2]["data"]["flags"] & 64
    assert callbacks[2]["data"]["content"].startswith("Slow down a little: try again in ")
    charts = await discord_api.wait_for_count("PATCH", "/messages/@original", 2)
    assert all(r.json["files"][0]["filename"] == "ETH.png" for r in charts)


async def test_a_mention_is_answered_without_an_error_in_the_log(
    bot: Any, discord_api: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        discord_api.deliver(bot, mention("why did ETH fall 14%?", "1920000000000000541"))
        [reply] = await discord_api.wait_for_count("POST", f"/channels/{CHANNEL_ID}/messages", 1)

    assert reply.json["embeds"][0]["description"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "CommandNotFound" not in caplog.text


async def test_news_installs_to_servers_only_and_questions_everywhere() -> None:
    payloads = {c["name"]: c for c in await command_payloads()}

    assert payloads["news"]["integration_types"] == [0]  # GUILD_INSTALL only
    assert int(payloads["news"]["default_member_permissions"]) == 1 << 5  # Manage Server
    for name in ("ask", "price", "chart", "sources"):
        assert sorted(payloads[name]["integration_types"]) == [0, 1], name
