"""The fake holds the bot to Discord's rules only if it refuses what Discord refuses: bodies
against the official schema and documented limits, and the interaction rules, checked here on
bodies and requests built by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.discord_fake import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    as_delivered,
    ask_interaction,
    bot_user,
    member_user,
    message_payload,
    serving,
)
from tests.discord_spec import problems, route

FOLLOW_UP = f"/webhooks/{APP_ID}/token-1"
GOOD = {
    "content": "ETH fell 8.8% on 4 Nov.",
    "embeds": [{"title": "why did ETH fall?", "description": "x", "fields": []}],
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "Sources", "custom_id": "mb:src:0123456789ab"}
            ],
        }
    ],
    "allowed_mentions": {"parse": []},
    "message_reference": {"message_id": 1910000000000000001, "fail_if_not_exists": False},
}


def test_paths_are_matched_to_the_spec_s_templates() -> None:
    assert route(f"/channels/{CHANNEL_ID}/messages") == "/channels/{channel_id}/messages"
    assert route(f"{FOLLOW_UP}/messages/@original") == (
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    )
    assert route("/interactions/1/tok/callback") == (
        "/interactions/{interaction_id}/{interaction_token}/callback"
    )
    assert route("/no/such/thing") is None


def test_a_well_formed_message_passes_with_a_snowflake_sent_as_an_integer() -> None:
    assert problems("POST", f"/channels/{CHANNEL_ID}/messages", GOOD) == []
    assert problems("PATCH", f"{FOLLOW_UP}/messages/@original", GOOD) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"title": "t" * 257}]}, "title"),
        ({"embeds": [{"description": "d" * 4097}]}, "description"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "value"),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2500}]}, "6000"),
        ({"components": [{"type": 1, "components": [{"type": 2, "label": "no style"}]}]}, ""),
        ({"components": [{"type": 1, "components": []}]}, ""),
        ({"message_reference": {"message_id": "general"}}, "message_reference"),
        ({"allowed_mentions": {"parse": ["everybody"]}}, "allowed_mentions"),
    ],
)
def test_what_discord_refuses_is_named(change: dict[str, Any], expected: str) -> None:
    found = problems("POST", f"/channels/{CHANNEL_ID}/messages", {**GOOD, **change})
    assert found and expected in " ".join(found), found


def test_a_command_discord_would_not_register_is_named() -> None:
    good = {"name": "ask", "description": "Explain a move", "type": 1, "options": []}
    bad_name = {**good, "name": "Ask Me"}
    no_description = {**good, "description": ""}
    order = {
        **good,
        "options": [
            {"name": "a", "description": "d", "type": 3, "required": False},
            {"name": "b", "description": "d", "type": 3, "required": True},
        ],
    }
    path = f"/applications/{APP_ID}/commands"

    assert problems("PUT", path, [good]) == []
    for bad in (bad_name, no_description, order):
        assert problems("PUT", path, [bad]), bad


def test_an_unknown_endpoint_or_method_is_named() -> None:
    assert problems("POST", "/channels/1/nothing", {})
    assert problems("PUT", f"/channels/{CHANNEL_ID}/messages", GOOD)


def test_without_the_intent_a_server_message_that_does_not_mention_the_bot_arrives_empty() -> None:
    plain = message_payload("1", CHANNEL_ID, member_user(), "why did ETH fall?")
    plain["guild_id"] = GUILD_ID
    pinging = {**plain, "mentions": [bot_user()], "content": f"<@{BOT_ID}> why?"}
    in_dm = message_payload("2", "1300000000000000099", member_user(), "why did ETH fall?")

    assert as_delivered(plain, message_content=False)["content"] == ""
    assert as_delivered(plain, message_content=True)["content"] == "why did ETH fall?"
    assert as_delivered(pinging, message_content=False)["content"].endswith("why?")
    assert as_delivered(in_dm, message_content=False)["content"] == "why did ETH fall?"
    assert plain["content"] == "why did ETH fall?"  # the payload itself is left as it was


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeDiscord, aiohttp.ClientSession]]:
    async with serving(FakeDiscord()) as served, aiohttp.ClientSession() as session:
        yield served, session


class Dummy:
    """Stands in for a client: `interact` only registers the interaction, then calls this."""

    class _connection:
        @staticmethod
        def parse_interaction_create(payload: dict[str, Any]) -> None:
            return None


async def test_the_interaction_rules_are_enforced(
    fake: tuple[FakeDiscord, aiohttp.ClientSession],
) -> None:
    served, session = fake
    payload = ask_interaction("why?", interaction_id="1600000000000000901")
    token = payload["token"]
    callback = f"{served.base}/interactions/1600000000000000901/{token}/callback"
    follow_up = f"{served.base}/webhooks/{APP_ID}/{token}"

    async with session.post(follow_up, json={"content": "early"}) as early:
        assert early.status == 404 and (await early.json())["code"] == 10015
    async with session.post(f"{served.base}/interactions/1/x/callback", json={"type": 5}) as r:
        assert r.status == 404 and (await r.json())["code"] == 10062
    served.interact(Dummy, payload)
    async with session.post(callback, json={"type": 6}) as wrong:  # only for components
        assert wrong.status == 400
    served.interactions["1600000000000000901"].callback = None
    async with session.post(callback, json={"type": 5}) as deferred:
        assert deferred.status == 200
    async with session.post(callback, json={"type": 5}) as twice:
        assert twice.status == 400 and (await twice.json())["code"] == 40060
    body = {"content": "a private error", "flags": 64, "allowed_mentions": {"parse": []}}
    async with session.post(follow_up, json=body) as shown:
        assert shown.status == 200  # Discord takes it, and shows it to everyone
    async with session.post(
        f"{served.base}/channels/{CHANNEL_ID}/messages",
        json={"content": "hi"},
        headers={"Authorization": "Bot fake-token"},
    ) as pinging:
        assert pinging.status == 200

    rules = "\n".join(served.violations)
    assert "before the interaction was answered" in rules
    assert "unknown interaction" in rules
    assert "callback type 6" in rules
    assert "answered twice" in rules
    assert "not an edit of @original" in rules
    assert "shown as public, to the whole channel" in rules
    assert "without allowed_mentions" in rules
    assert served.shown_publicly()[0].json["content"] == "a private error"
