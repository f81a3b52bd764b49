"""The Discord layer through discord.py's own dispatch, against a local fake of Discord's REST
API: what the bot would send to Discord is asserted as the JSON Discord would receive."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.client import command_payloads, make_bot, sync_commands
from bot.core.documents import Answer, Citation
from bot.discord_main import serve_discord
from bot.render import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    answer_embed,
)
from bot.services import Services
from tests.conftest import MakeServices, settings_for
from tests.discord_fake import (
    GOOD_TOKEN,
    FakeDiscord,
    ask_interaction,
    direct_message,
    news_interaction,
)
from tests.snapshot import last_close


@pytest.fixture
async def bot(discord_api: FakeDiscord, seeded: Services) -> AsyncIterator[object]:
    client = make_bot(seeded)
    await client.login(GOOD_TOKEN)  # GET /users/@me on the fake, then setup_hook
    client._connection.application_id = int(ask_interaction("x")["application_id"])
    try:
        yield client
    finally:
        await client.close()


async def test_ask_is_deferred_then_answered_with_a_cited_embed_that_pings_nobody(
    bot: object, discord_api: FakeDiscord
) -> None:
    discord_api.interact(
        bot, ask_interaction("why did ETH fall 14%?", user_id="1400000000000000011")
    )

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    [callback] = discord_api.made("POST", "/callback")
    assert callback.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert callback.at < followup.at
    [embed] = followup.json["embeds"]
    assert "Federal Reserve" in embed["description"]
    assert "[1]" in embed["description"]
    sources = next(f for f in embed["fields"] if f["name"] == "Sources")
    assert sources["value"].startswith("[1] ")
    assert "Newest cited source: 5 Nov 2025" in embed["footer"]["text"]
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_ask_works_in_a_direct_message(bot: object, discord_api: FakeDiscord) -> None:
    discord_api.interact(
        bot,
        ask_interaction(
            "why did BTC fall?",
            guild=False,
            interaction_id="1600000000000000002",
            user_id="1400000000000000012",
        ),
    )

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    assert followup.json["embeds"][0]["description"]


async def test_a_slow_core_is_still_acknowledged_at_once(
    bot: object, discord_api: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ask = Services.ask

    def slow_ask(self: Services, question: str, **kwargs: Any) -> Answer:
        time.sleep(4)  # longer than Discord's 3-second window
        return real_ask(self, question, **kwargs)

    monkeypatch.setattr(Services, "ask", slow_ask)
    started = asyncio.get_running_loop().time()
    discord_api.interact(bot, ask_interaction("why did ETH fall?", user_id="1400000000000000013"))

    callback = await discord_api.wait_for("POST", "/callback", timeout=10)
    assert callback.at - started < 1.0
    followup = await discord_api.wait_for("PATCH", "/messages/@original", timeout=30)
    assert followup.at - started >= 4


async def test_everyone_in_a_question_pings_nobody(bot: object, discord_api: FakeDiscord) -> None:
    discord_api.interact(
        bot, ask_interaction("@everyone why did ETH fall 14%?", user_id="1400000000000000014")
    )

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    assert followup.json["allowed_mentions"] == {"parse": []}
    assert "@everyone" in followup.json["embeds"][0]["title"]  # shown, but pings no one


def _long_answer() -> Answer:
    sentence = "Bitcoin fell as leveraged longs were liquidated across major exchanges [1]. "
    citations = tuple(
        Citation(
            n=n,
            title=f"Story {n} " + "x" * 120,
            outlet="Example Wire",
            url=f"https://news.example/{n}/" + "y" * 80,
            published_at="2025-11-04",
            quote="q",
            article_id=str(n),
            also_reported_by=("@everyone",),
        )
        for n in range(1, 41)
    )
    return Answer(
        question="why? " * 100,
        status="answered",
        answer=sentence * (10_000 // len(sentence) + 1),
        citations=citations,
    )


def test_a_10000_character_answer_is_rendered_within_every_discord_limit() -> None:
    answer = _long_answer()
    assert len(answer.answer) > 10_000

    embed = answer_embed(answer, today=date(2025, 11, 6)).to_dict()

    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert embed["description"].endswith("[1]. …") or embed["description"].endswith(" …")
    assert not embed["description"].rstrip(" …").endswith("liquid")  # no cut word
    assert len(embed["fields"]) <= 25
    assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed["fields"])
    for field in embed["fields"]:
        for line in field["value"].splitlines():
            assert line.count("[") == line.count("]")  # no half link
    total = (
        len(embed["title"])
        + len(embed["description"])
        + len(embed["footer"]["text"])
        + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    )
    assert total <= EMBED_TOTAL_LIMIT


async def test_a_wrong_token_gives_one_clear_line(
    discord_api: FakeDiscord, seeded: Services, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, discord_token="not-the-token")

    message = await serve_discord(seeded, settings)

    assert message is not None and "MARKETBOT_DISCORD_TOKEN" in message
    assert discord_api.made("GET", "/users/@me")


async def test_a_user_asking_too_fast_is_told_when_to_try_again(
    bot: object, discord_api: FakeDiscord
) -> None:
    for n in range(4):
        discord_api.interact(
            bot,
            ask_interaction(
                "why did ETH fall?",
                interaction_id=f"16000000000000001{n}0",
                user_id="1400000000000000015",
            ),
        )
        await discord_api.wait_for("POST", f"/interactions/16000000000000001{n}0/")

    refused = discord_api.made("POST", "/interactions/1600000000000000130/")[0].json
    assert refused["type"] == 4 and refused["data"]["flags"] & 64  # an ephemeral reply
    assert "try again in" in refused["data"]["content"]
    assert [r.json["type"] for r in discord_api.made("POST", "/callback")][:3] == [5, 5, 5]


async def test_price_answers_with_the_figure_its_source_and_time_and_pings_nobody(
    bot: object, discord_api: FakeDiscord
) -> None:
    discord_api.interact(
        bot,
        ask_interaction("ether", command="price", option="asset", user_id="1400000000000000016"),
    )

    callback = await discord_api.wait_for("POST", "/callback")
    sent = await discord_api.wait_for("PATCH", "/messages/@original")
    assert callback.json["type"] == 5  # deferred: live prices may take a moment
    [embed] = sent.json["embeds"]
    assert embed["title"] == "ETH price"
    # The test settings are offline with no exchange: the snapshot's close, labelled so.
    assert f"${last_close('ETH')[1]:,.2f}" in embed["description"]
    assert "snapshot" in embed["description"]
    assert "Binance" in embed["footer"]["text"]
    assert sent.json["allowed_mentions"]["parse"] == []


async def test_price_of_an_unknown_asset_says_which_tickers_work(
    bot: object, discord_api: FakeDiscord
) -> None:
    discord_api.interact(
        bot,
        ask_interaction(
            "@everyone", command="price", option="asset", user_id="1400000000000000018"
        ),
    )

    # Refused at once and privately: nothing was deferred, so the channel saw nothing.
    [callback] = [(await discord_api.wait_for("POST", "/callback")).json]
    assert callback["type"] == 4 and callback["data"]["flags"] & 64
    assert "I don't know the asset" in callback["data"]["content"]
    assert "try a ticker such as BTC" in callback["data"]["content"]
    assert callback["data"]["allowed_mentions"]["parse"] == []
    assert discord_api.shown_publicly() == []


async def test_chart_sends_a_png_of_the_asset_with_a_captioned_source(
    bot: object, discord_api: FakeDiscord
) -> None:
    payload = ask_interaction("eth", command="chart", option="asset", user_id="1400000000000000019")
    payload["data"]["options"].append({"name": "days", "type": 4, "value": 30})
    discord_api.interact(bot, payload)

    sent = await discord_api.wait_for("PATCH", "/messages/@original")
    [image] = sent.json["files"]
    assert image["filename"] == "ETH.png"
    assert image["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert "ETH" in sent.json["content"] and "Binance" in sent.json["content"]
    assert sent.json["allowed_mentions"]["parse"] == []


@pytest.mark.parametrize(
    ("typed", "first"), [("eth", "ETH"), ("Ethereum", "ETH"), ("$sol", "SOL"), ("chainl", "LINK")]
)
async def test_price_suggests_assets_from_the_alias_table_as_the_user_types(
    bot: object, discord_api: FakeDiscord, typed: str, first: str
) -> None:
    payload = ask_interaction(typed, command="price", option="asset")
    payload["type"] = 4  # APPLICATION_COMMAND_AUTOCOMPLETE
    payload["data"]["options"][0]["focused"] = True
    discord_api.interact(bot, payload)

    callback = await discord_api.wait_for("POST", "/callback")
    assert callback.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = callback.json["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert choices[0]["value"] == first
    assert all(len(c["name"]) <= 100 for c in choices)


async def test_a_direct_message_is_answered_as_a_reply_that_pings_nobody(
    bot: object, discord_api: FakeDiscord
) -> None:
    discord_api.deliver(bot, direct_message("@everyone why did ETH fall 14%?"))

    reply = await discord_api.wait_for("POST", "/messages")
    assert reply.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert int(reply.json["message_reference"]["message_id"]) == 1900000000000000001
    assert "Federal Reserve" in reply.json["embeds"][0]["description"]


async def test_a_failure_while_answering_a_message_is_said_with_a_reference_not_hidden(
    bot: object, discord_api: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Services, question: str, **kwargs: Any) -> Answer:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(Services, "ask", broken)
    discord_api.deliver(bot, direct_message("why did ETH fall 14%?"))

    reply = await discord_api.wait_for("POST", "/messages")
    assert reply.json["content"].startswith("Something went wrong on my side (reference ")
    assert "the store went away" not in json.dumps(reply.json)
    assert reply.json["allowed_mentions"]["parse"] == []


async def test_sync_registers_the_commands_that_commands_json_prints(
    discord_api: FakeDiscord,
) -> None:
    count = await sync_commands(GOOD_TOKEN)

    [put] = discord_api.made("PUT", "/commands")
    assert count == len(put.json) == len(await command_payloads())
    assert {c["name"] for c in put.json} == {"ask", "sources", "price", "chart", "news", "watch"}


def test_every_command_and_option_is_described_and_ask_works_in_dms() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "commands", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    payloads = json.loads(result.stdout)

    for command in payloads:
        assert command["description"], command["name"]
        assert all(option["description"] for option in command.get("options", []))
    ask = next(c for c in payloads if c["name"] == "ask")
    assert set(ask["contexts"]) == {0, 1, 2}  # servers, bot DMs, group DMs


ADMIN_ID, ROLE_ID = "1400000000000000090", "1500000000000000090"
ARTICLE = {
    "title": "Dogecoin pumps on payments news @everyone",
    "text": "@everyone Dogecoin rose 12% after a payments firm said it would take DOGE.",
}


@pytest.fixture
async def admin_bot(
    discord_api: FakeDiscord, make_services: MakeServices
) -> AsyncIterator[tuple[object, Services]]:
    services = make_services(admin_user_ids=[int(ADMIN_ID)], admin_role_ids=[int(ROLE_ID)])
    client = make_bot(services)
    await client.login(GOOD_TOKEN)
    client._connection.application_id = int(ask_interaction("x")["application_id"])
    try:
        yield client, services
    finally:
        await client.close()


@pytest.mark.parametrize("guild", [True, False], ids=["server", "dm"])
async def test_news_from_a_non_admin_is_refused_and_stores_nothing(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord, guild: bool
) -> None:
    client, services = admin_bot
    discord_api.interact(
        client, news_interaction("paste", ARTICLE, user_id="1400000000000000091", guild=guild)
    )

    callback = await discord_api.wait_for("POST", "/callback")
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] & 64
    assert "Only marketbot's admins" in callback.json["data"]["content"]
    assert services.sources() == []


async def test_an_admin_role_in_a_server_can_paste_news_that_then_pings_nobody(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord
) -> None:
    client, services = admin_bot
    discord_api.interact(
        client, news_interaction("paste", ARTICLE, user_id="1400000000000000092", roles=(ROLE_ID,))
    )

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    assert followup.public is False and "1 new" in followup.json["content"]
    [article] = services.sources()
    assert article.ingested_by == "discord:1400000000000000092"

    discord_api.interact(
        client,
        ask_interaction(
            "why did dogecoin pump?",
            interaction_id="1600000000000000200",
            user_id="1400000000000000093",
        ),
    )
    await asyncio.sleep(0)
    deadline = asyncio.get_running_loop().time() + 30
    while len(discord_api.made("PATCH", "/messages/@original")) < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    answer = discord_api.made("PATCH", "/messages/@original")[-1].json
    # Shown, but as text: a zero-width space breaks the mention, and nobody is pinged.
    description = answer["embeds"][0]["description"]
    assert "@\u200beveryone Dogecoin rose 12%" in description and "@everyone" not in description
    assert answer["allowed_mentions"] == {"parse": []}


async def test_a_listed_admin_may_manage_news_in_a_dm(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord
) -> None:
    client, services = admin_bot
    discord_api.interact(client, news_interaction("paste", ARTICLE, user_id=ADMIN_ID, guild=False))

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    assert "1 new" in followup.json["content"]
    assert len(services.sources()) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [(None, "1 stored articles"), ("ether", "1 stored articles"), ("peloton", "0 stored articles")],
)
async def test_sources_lists_what_is_stored_privately_and_filters(
    bot: object, discord_api: FakeDiscord, query: str | None, expected: str
) -> None:
    payload = ask_interaction(
        "",
        command="sources",
        option="query",
        user_id="1400000000000000020",
        interaction_id=f"16200000000000000{len(query or '')}",
    )
    if query is None:
        payload["data"]["options"] = []
    else:
        payload["data"]["options"][0]["value"] = query
    discord_api.interact(bot, payload)

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    [embed] = followup.json["embeds"]
    assert followup.public is False
    assert embed["title"].startswith(expected)
    assert embed["footer"]["text"] == "Page 1 of 1"
    if expected.startswith("1"):
        assert "day of terror" in embed["description"]


async def test_news_status_reports_the_corpus_and_versions_to_an_admin(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord
) -> None:
    client, services = admin_bot
    services.ingest_text(ARTICLE["title"], ARTICLE["text"], ingested_by=f"discord:{ADMIN_ID}")
    discord_api.interact(client, news_interaction("status", {}, user_id=ADMIN_ID, guild=False))

    followup = await discord_api.wait_for("PATCH", "/messages/@original")
    content = followup.json["content"]
    assert content.startswith("1 articles, 1 chunks")
    assert "0 flagged" in content
    # Who added the newest articles, and when; shown as a mention that pings nobody.
    assert f"UTC by <@{ADMIN_ID}>: {ARTICLE['title'][:32]}@\u200beveryone" in content
    assert followup.json["allowed_mentions"]["parse"] == []
    assert "discord.py" in content and followup.public is False
    assert "Answers: extractive (no model configured)" in content
    assert "Shared state: SQLite (state.sqlite3 in the data dir)" in content


def upload_interaction(url: str, size: int, *, user_id: str, interaction_id: str) -> Any:
    """/news upload with a file attached: the option holds the attachment's id, and the
    attachment itself comes in `resolved`, as Discord sends it."""
    payload = news_interaction(
        "upload", {}, user_id=user_id, guild=False, interaction_id=interaction_id
    )
    payload["data"]["options"][0]["options"] = [
        {"name": "attachment", "type": 11, "value": "1990000000000000001"}
    ]
    payload["data"]["resolved"] = {
        "attachments": {
            "1990000000000000001": {
                "id": "1990000000000000001",
                "filename": "news.json",
                "size": size,
                "url": url,
                "proxy_url": url,
                "content_type": "application/json",
            }
        }
    }
    return payload


async def test_an_admin_uploads_a_news_file_as_an_attachment(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord
) -> None:
    client, services = admin_bot
    data = json.dumps([{**ARTICLE, "published_at": "2025-11-04T12:00:00Z"}]).encode()
    url = discord_api.attachment_url("news.json", data)

    discord_api.interact(
        client,
        upload_interaction(url, len(data), user_id=ADMIN_ID, interaction_id="1610000000000000601"),
    )

    reply = await discord_api.answer_to("1610000000000000601")
    assert reply.method == "PATCH" and reply.public is False
    assert reply.json["content"].startswith("1 found, 1 new")
    [article] = services.sources()
    assert article.ingested_by == f"discord:{ADMIN_ID}"


async def test_an_oversized_attachment_is_refused_before_it_is_read(
    admin_bot: tuple[object, Services], discord_api: FakeDiscord
) -> None:
    client, services = admin_bot
    url = discord_api.attachment_url("big.json", b"[]")

    discord_api.interact(
        client,
        upload_interaction(url, 9 << 20, user_id=ADMIN_ID, interaction_id="1610000000000000602"),
    )

    refused = await discord_api.wait_for("POST", "/interactions/1610000000000000602/")
    assert refused.json["type"] == 4 and refused.json["data"]["flags"] & 64
    assert refused.json["data"]["content"] == "That file is 9 MB; the limit is 8 MB."
    assert services.sources() == []
