"""A local stand-in for Discord's REST API on 127.0.0.1, recording what the bot sends and
holding it to Discord's rules.

It answers the routes the bot uses with the response shapes of Discord's documentation
(https://discord.com/developers/docs): the current user, interaction callbacks (with
`with_response`), webhook follow-ups and edits, channel messages and their edits. discord.py is
pointed at it through `Route.BASE`, so every request goes through discord.py's own HTTP code.

Every request body is checked against the request schema of its endpoint in Discord's official
OpenAPI description and the documented limits (tests/discord_spec.py), and every interaction
against Discord's interaction rules: one callback per interaction, of a type its kind allows;
no follow-up before the callback; a follow-up that takes the place of a deferred response's
"thinking" message keeps the defer's visibility, whatever its own flags say (Discord takes it,
and shows a "private" error to the whole channel). Anything Discord would refuse is answered
with Discord's error and recorded in `violations`, which the `discord_api` fixture asserts
empty after each test. Two of our own rules are recorded there too, though Discord accepts
both: the first message after a defer must edit `@original` (Discord's documented way), and
no message may be able to ping anyone. Not enforced: the 3-second deadline for a callback and
the 15-minute life of a token (a loaded test machine would make them flaky). Messages reach
the bot through `deliver`, which withholds their text as Discord does from a bot without the
message-content intent.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from discord.http import Route

from tests.discord_spec import problems
from tests.loopback import on_loopback

BOT_ID = "1100000000000000001"
APP_ID = BOT_ID
GUILD_ID = "1200000000000000001"
CHANNEL_ID = "1300000000000000001"
USER_ID = "1400000000000000001"
GOOD_TOKEN = "fake-token"
EPHEMERAL = 64
# Callback types each kind of interaction may answer with
# (https://discord.com/developers/docs/interactions/receiving-and-responding).
CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5}}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    at: float
    public: bool | None = None  # for what shows a message: whether the channel sees it


@dataclass
class Interaction:
    """One interaction the fake dispatched, and how the bot has answered it so far."""

    id: str
    token: str
    kind: int
    callback: int | None = None
    ephemeral: bool = False
    loading: bool = False  # a deferred response still showing "thinking"
    original_id: str | None = None
    deleted: bool = False
    private_ids: set[str] = field(default_factory=set)  # follow-ups sent ephemeral


def _error(message: str, code: int, status: int) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


@dataclass
class FakeDiscord:
    """The recorded requests, the rules broken, and the server's address."""

    base: str = ""
    requests: list[Request] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    interactions: dict[str, Interaction] = field(default_factory=dict)
    callback_delay: float = 0.0
    attachments: dict[str, bytes] = field(default_factory=dict)  # served under /attachments/
    # Channels the bot has lost access to (removed from them, or its permissions taken):
    # Discord answers a post there 403 Missing Access.
    forbidden_channels: set[str] = field(default_factory=set)
    # Channels where the bot may post but not attach files (no Attach Files permission):
    # Discord answers a post with files there 403 Missing Permissions.
    no_files_channels: set[str] = field(default_factory=set)
    _next_id: int = 1500000000000000000

    def made(self, method: str, fragment: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and fragment in r.path]

    async def wait_for(self, method: str, fragment: str, timeout: float = 30) -> Request:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.made(method, fragment)
            if found:
                return found[-1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {method} {fragment} within {timeout} s: {self.requests}")

    async def wait_for_count(
        self, method: str, fragment: str, count: int, timeout: float = 60
    ) -> list[Request]:
        """Every matching request, once at least `count` have been made."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.made(method, fragment)) < count:
            assert asyncio.get_running_loop().time() < deadline, self.requests
            await asyncio.sleep(0.02)
        return self.made(method, fragment)

    async def answer_to(self, interaction_id: str, timeout: float = 30) -> Request:
        """The first message the bot shows for an interaction after its callback: the edit
        of `@original` (or, breaking the rules, a follow-up)."""
        token = self.interactions[interaction_id].token
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for r in self.requests:
                if (
                    f"/{token}" in r.path
                    and r.path.startswith("/webhooks/")
                    and r.method
                    in (
                        "POST",
                        "PATCH",
                    )
                ):
                    return r
            await asyncio.sleep(0.02)
        raise AssertionError(f"no answer to {interaction_id} within {timeout} s: {self.requests}")

    def shown_publicly(self) -> list[Request]:
        """Every message the channel sees (or saw until it was deleted)."""
        return [r for r in self.requests if r.public]

    def interact(self, client: Any, payload: dict[str, Any]) -> None:
        """Dispatch an INTERACTION_CREATE to the bot, as the gateway would."""
        self.interactions[payload["id"]] = Interaction(
            payload["id"], payload["token"], payload["type"]
        )
        client._connection.parse_interaction_create(payload)

    def deliver(self, client: Any, payload: dict[str, Any]) -> None:
        """Dispatch a MESSAGE_CREATE to the bot with what Discord would let it read: without
        the message-content intent, a server message that does not mention the bot arrives
        with its content, embeds, attachments and components empty
        (https://support-dev.discord.com/hc/en-us/articles/4404772028055)."""
        client._connection.parse_message_create(
            as_delivered(payload, bool(client.intents.message_content))
        )

    def message(self, body: dict[str, Any], channel_id: str = CHANNEL_ID) -> dict[str, Any]:
        self._next_id += 1
        return message_payload(
            str(self._next_id),
            channel_id,
            bot_user(),
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            flags=body.get("flags") or 0,
            components=body.get("components") or [],
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_get("/attachments/{name}", self._attachment)  # Discord's CDN
        return app

    def attachment_url(self, name: str, data: bytes) -> str:
        """Serve DATA as an uploaded file is served by Discord's CDN; its URL."""
        self.attachments[name] = data
        return self.base.removesuffix("/api/v10") + f"/attachments/{name}"

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _refuse(self, rule: str, message: str, code: int, status: int) -> web.Response:
        self.violations.append(rule)
        return _error(message, code, status)

    async def _handle(self, request: web.Request) -> web.Response:
        body: Any = None
        media = request.content_type
        if request.can_read_body:
            raw = await request.read()
            if media == "application/json":
                body = json.loads(raw)
            elif media.startswith("multipart/"):
                body = await _multipart(request, raw)
                media = "multipart/form-data"
        path = "/" + request.match_info["tail"]
        recorded = Request(
            request.method, path, dict(request.query), body, asyncio.get_running_loop().time()
        )
        self.requests.append(recorded)
        token_in_path = path.startswith(("/interactions/", "/webhooks/"))
        if not token_in_path and request.headers.get("Authorization") != f"Bot {GOOD_TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        if path == "/gateway/bot":  # answered by the gateway fake, when there is one
            return _error("404: Not Found", 0, 404)
        found = problems(request.method, path, body, media=media)
        if found:
            self.violations += found
            return _json(
                {"message": "Invalid Form Body", "code": 50035, "errors": found}, status=400
            )
        pinging = _pings(path, body)
        if pinging:
            self.violations.append(f"{request.method} {path}: {pinging}")
        if path == "/users/@me":
            return _json(bot_user())
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "marketbot",
                    "icon": None,
                    "description": "",
                    "summary": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "verify_key": "0" * 64,
                    "team": None,
                    "flags": 0,
                    "owner": member_user("1000000000000000009", "owner"),
                    "bot": bot_user(),
                    "redirect_uris": [],
                    "interactions_endpoint_url": None,
                    "tags": [],
                    "approximate_guild_count": 1,
                }
            )
        if path.startswith("/interactions/") and path.endswith("/callback"):
            return await self._callback(path, body, recorded)
        if (
            path.startswith("/applications/")
            and path.endswith("/commands")
            and request.method == "PUT"
        ):
            return _json(
                [
                    {
                        **command,
                        "id": str(1800000000000000000 + i),
                        "application_id": APP_ID,
                        "version": "1",
                    }
                    for i, command in enumerate(body or [])
                ]
            )
        if path.startswith("/webhooks/"):
            return self._webhook(request.method, path, body or {}, recorded)
        channel = re.match(r"/channels/(\d+)", path)
        if channel and channel[1] in self.forbidden_channels:
            return _error("Missing Access", 50001, 403)
        if (
            channel
            and channel[1] in self.no_files_channels
            and media == "multipart/form-data"
            and (body or {}).get("files")
        ):
            return _error("Missing Permissions", 50013, 403)
        if channel and request.method == "GET" and path == channel[0]:
            return _error("Unknown Channel", 10003, 404)  # only the server's channel exists
        if path.startswith("/channels/") and path.endswith("/messages"):
            recorded.public = True
            return _json(self.message(body or {}, path.split("/")[2]))
        edit = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if edit and request.method == "PATCH":  # the edited message, under its own id
            recorded.public = True
            edited = message_payload(
                edit[2],
                edit[1],
                bot_user(),
                (body or {}).get("content") or "",
                embeds=(body or {}).get("embeds") or [],
                flags=(body or {}).get("flags") or 0,
                components=(body or {}).get("components") or [],
            )
            edited["edited_timestamp"] = "2025-11-05T12:00:01.000000+00:00"
            return _json(edited)
        if path.startswith("/channels/") and path.endswith("/typing"):
            return web.Response(status=204)
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    async def _callback(self, path: str, body: Any, recorded: Request) -> web.Response:
        await asyncio.sleep(self.callback_delay)
        _, _, interaction_id, token, _ = path.split("/")
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            return self._refuse(
                f"callback to unknown interaction {interaction_id}",
                "Unknown interaction",
                10062,
                404,
            )
        kind = body.get("type") if isinstance(body, dict) else None
        if interaction.callback is not None:
            return self._refuse(
                f"interaction {interaction_id} answered twice",
                "Interaction has already been acknowledged.",
                40060,
                400,
            )
        if kind not in CALLBACKS.get(interaction.kind, set()):
            return self._refuse(
                f"interaction {interaction_id} (type {interaction.kind}) answered with "
                f"callback type {kind}",
                "Invalid interaction application command",
                50035,
                400,
            )
        data = (body or {}).get("data") or {}
        interaction.callback = kind
        interaction.ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        interaction.loading = kind == 5
        if kind in (4, 5):
            self._next_id += 1
            interaction.original_id = str(self._next_id)
        if kind in (4, 7):
            recorded.public = not interaction.ephemeral
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": interaction.kind,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": interaction.ephemeral,
                },
                "resource": {"type": kind},
            }
        )

    def _webhook(
        self, method: str, path: str, body: dict[str, Any], recorded: Request
    ) -> web.Response:
        parts = path.split("/")  # "", "webhooks", app id, token, ["messages", id]
        token = parts[3] if len(parts) > 3 else ""
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        if interaction is None or interaction.callback is None:
            return self._refuse(
                f"{method} {path} before the interaction was answered",
                "Unknown Webhook",
                10015,
                404,
            )
        flags = body.get("flags") or 0
        if len(parts) == 4 and method == "POST":  # a follow-up
            if interaction.loading:
                self.violations.append(
                    f"interaction {interaction.id}: the first message after a deferred response "
                    "was a follow-up, not an edit of @original"
                )
                if bool(flags & EPHEMERAL) != interaction.ephemeral:
                    self.violations.append(
                        f"interaction {interaction.id}: the follow-up's ephemeral flag is ignored "
                        "after a deferred response: it is shown as "
                        + ("private" if interaction.ephemeral else "public, to the whole channel")
                    )
                interaction.loading = False
                recorded.public = not interaction.ephemeral
                reply = self.message({**body, "flags": EPHEMERAL * interaction.ephemeral})
                interaction.original_id = reply["id"]
                return _json(reply)
            recorded.public = not flags & EPHEMERAL
            sent = self.message(body)
            if flags & EPHEMERAL:
                interaction.private_ids.add(sent["id"])
            return _json(sent)
        message_id = parts[5] if len(parts) > 5 else ""
        if message_id == "@original":
            if interaction.deleted or interaction.original_id is None:
                return self._refuse(
                    f"{method} {path}: the original response is gone", "Unknown Message", 10008, 404
                )
            if method == "DELETE":
                interaction.deleted, interaction.loading = True, False
                return web.Response(status=204)
            interaction.loading = False
            if method == "PATCH":
                recorded.public = not interaction.ephemeral
            return _json(
                {
                    **self.message(body),
                    "id": interaction.original_id,
                    "flags": EPHEMERAL * interaction.ephemeral,
                }
            )
        if method == "DELETE":
            return web.Response(status=204)
        if method == "PATCH":  # a follow-up's visibility was set when it was sent
            recorded.public = message_id not in interaction.private_ids
        return _json({**self.message(body), "id": message_id})


def _pings(path: str, body: Any) -> str | None:
    """Why a message body could ping someone, if it could (our own rule, not Discord's)."""
    if not isinstance(body, dict):
        return None
    message = body.get("data") if path.endswith("/callback") else body
    if not isinstance(message, dict) or (
        path.endswith("/callback") and body.get("type") not in (4, 7)
    ):
        return None
    if not ({"content", "embeds", "components", "files"} & message.keys()):
        return None
    mentions = message.get("allowed_mentions")
    if mentions is None:
        return "a message without allowed_mentions pings whoever its text names"
    if mentions.get("parse") or mentions.get("users") or mentions.get("roles"):
        return f"allowed_mentions {mentions} lets it ping"
    if mentions.get("replied_user"):
        return "a reply that pings its author"
    return None


def as_delivered(payload: dict[str, Any], message_content: bool) -> dict[str, Any]:
    """A MESSAGE_CREATE as a bot with or without the message-content intent receives it."""
    delivered = copy.deepcopy(payload)
    in_server = "guild_id" in delivered
    for message in (delivered, delivered.get("referenced_message")):
        if not isinstance(message, dict):
            continue
        readable = (
            message_content
            or not in_server  # a DM with the bot
            or message.get("author", {}).get("id") == BOT_ID  # the bot's own
            or any(user.get("id") == BOT_ID for user in message.get("mentions") or [])
        )
        if not readable:
            message.update(content="", embeds=[], attachments=[], components=[])
            message.pop("poll", None)
    return delivered


@asynccontextmanager
async def serving(fake: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    """Serve FAKE on 127.0.0.1 and point discord.py's REST calls at it."""
    async with on_loopback(fake.app()) as port:
        fake.base = f"http://127.0.0.1:{port}/api/v10"
        saved, Route.BASE = Route.BASE, fake.base
        try:
            yield fake
        finally:
            Route.BASE = saved


async def _multipart(request: web.Request, raw: bytes) -> dict[str, Any]:
    """A message with files, as discord.py sends it: `payload_json` and `files[n]` parts."""
    from aiohttp import MultipartReader
    from aiohttp.streams import StreamReader

    stream = StreamReader(request.protocol, len(raw), loop=asyncio.get_running_loop())
    stream.feed_data(raw)
    stream.feed_eof()
    reader = MultipartReader(request.headers, stream)
    body: dict[str, Any] = {"files": []}
    while (part := await reader.next()) is not None:
        assert not isinstance(part, MultipartReader)
        data = await part.read()
        if part.name == "payload_json":
            body.update(json.loads(data))
        else:
            body["files"].append(
                {
                    "name": part.name,
                    "filename": part.filename,
                    "content_type": part.headers.get("Content-Type"),
                    "data": bytes(data),
                }
            )
    return body


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py compares the header as is.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def bot_user() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "username": "marketbot",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": True,
    }


def member_user(user_id: str = USER_ID, name: str = "trader") -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
    }


def ask_interaction(
    question: str,
    *,
    guild: bool = True,
    interaction_id: str = "1600000000000000001",
    user_id: str = USER_ID,
    command: str = "ask",
    option: str = "question",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for /ask, in the shape of Discord's documentation."""
    payload: dict[str, Any] = {
        "id": interaction_id,
        "application_id": APP_ID,
        "type": 2,
        "token": f"token-{interaction_id}",
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0 if guild else 1,
        "attachment_size_limit": 10485760,
        "channel_id": CHANNEL_ID,
        "data": {
            "id": "1700000000000000001",
            "name": command,
            "type": 1,
            "options": [{"name": option, "type": 3, "value": question}],
        },
    }
    if guild:
        payload["guild_id"] = GUILD_ID
        payload["guild_locale"] = "en-US"
        payload["channel"] = {
            "id": CHANNEL_ID,
            "type": 0,
            "guild_id": GUILD_ID,
            "name": "markets",
            "position": 0,
            "flags": 0,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "permissions": "2248473465835073",
        }
        payload["member"] = {
            "user": member_user(user_id),
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2248473465835073",
        }
    else:
        payload["channel"] = {
            "id": CHANNEL_ID,
            "type": 1,
            "flags": 0,
            "last_message_id": None,
            "recipients": [member_user(user_id)],
        }
        payload["user"] = member_user(user_id)
    return payload


def message_payload(
    message_id: str,
    channel_id: str,
    author: dict[str, Any],
    content: str,
    *,
    embeds: list[Any] | None = None,
    flags: int = 0,
    components: list[Any] | None = None,
) -> dict[str, Any]:
    """A message object as Discord's documentation gives it."""
    return {
        "id": message_id,
        "channel_id": channel_id,
        "type": 0,
        "author": author,
        "content": content,
        "timestamp": "2025-11-05T12:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "pinned": False,
        "flags": flags,
        "components": components or [],
    }


def direct_message(content: str, message_id: str = "1900000000000000001") -> dict[str, Any]:
    """A MESSAGE_CREATE payload for a direct message to the bot."""
    return message_payload(
        message_id, "1300000000000000099", member_user("1400000000000000017"), content
    )


def news_interaction(
    subcommand: str,
    options: dict[str, str],
    *,
    user_id: str,
    guild: bool = True,
    roles: tuple[str, ...] = (),
    interaction_id: str = "1610000000000000001",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for /news SUBCOMMAND."""
    payload = ask_interaction("", guild=guild, interaction_id=interaction_id, user_id=user_id)
    payload["data"] = {
        "id": "1700000000000000002",
        "name": "news",
        "type": 1,
        "options": [
            {
                "name": subcommand,
                "type": 1,
                "options": [
                    {"name": name, "type": 3, "value": value} for name, value in options.items()
                ],
            }
        ],
    }
    if guild:
        payload["member"]["roles"] = list(roles)
    return payload


def returned_message(fake: FakeDiscord, sent: Request) -> dict[str, Any]:
    """The message object the fake answers a recorded send with (a webhook follow-up or a
    channel message), as discord.py received it, but under a fresh id."""
    channel_id = sent.path.split("/")[2] if sent.path.startswith("/channels/") else CHANNEL_ID
    return fake.message(sent.json, channel_id)


def component_interaction(
    custom_id: str,
    message: dict[str, Any],
    *,
    guild: bool = True,
    interaction_id: str = "1610000000000000101",
    user_id: str = USER_ID,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for a click on the button `custom_id` of `message`
    (type 3, MESSAGE_COMPONENT). The token is the interaction's own, so its follow-ups are
    found at /webhooks/APP_ID/token-INTERACTION_ID."""
    payload = ask_interaction("", guild=guild, interaction_id=interaction_id, user_id=user_id)
    payload["type"] = 3
    payload["token"] = f"token-{interaction_id}"
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    payload["message"] = message
    return payload


def guild_create(guild_id: str = GUILD_ID, channel_id: str = CHANNEL_ID) -> dict[str, Any]:
    """A GUILD_CREATE payload for a server with one text channel, as Discord sends it to a
    bot without the members intent."""
    return {
        "id": guild_id,
        "name": "traders",
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": "1000000000000000009",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [
            {
                "id": guild_id,
                "name": "@everyone",
                "color": 0,
                "hoist": False,
                "position": 0,
                "permissions": "2248473465835073",
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": "2025-01-01T00:00:00+00:00",
        "large": False,
        "unavailable": False,
        "member_count": 2,
        "voice_states": [],
        "members": [],
        "channels": [
            {
                "id": channel_id,
                "type": 0,
                "guild_id": guild_id,
                "name": "markets",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
        ],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def reply_message(
    content: str,
    replied: dict[str, Any],
    *,
    author: dict[str, Any],
    message_id: str = "1910000000000000001",
    guild_id: str | None = None,
    mentions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A MESSAGE_CREATE payload for a reply (type 19) to `replied`, which Discord sends along
    as `referenced_message`; in a server it carries guild_id and the author's member."""
    payload = message_payload(message_id, replied["channel_id"], author, content)
    payload["type"] = 19
    payload["mentions"] = mentions or []
    payload["message_reference"] = {
        "type": 0,
        "message_id": replied["id"],
        "channel_id": replied["channel_id"],
    }
    payload["referenced_message"] = replied
    if guild_id is not None:
        payload.update(guild_id=guild_id, member=server_member())
        payload["message_reference"]["guild_id"] = guild_id
    return payload


def server_member() -> dict[str, Any]:
    """The `member` of a server message's author, as MESSAGE_CREATE carries it."""
    return {
        "roles": [],
        "joined_at": "2025-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


def mention_message(content: str, message_id: str, user_id: str = USER_ID) -> dict[str, Any]:
    """A MESSAGE_CREATE in the server's channel that mentions the bot."""
    payload = message_payload(
        message_id, CHANNEL_ID, member_user(user_id), f"<@{BOT_ID}> {content}"
    )
    payload.update(guild_id=GUILD_ID, mentions=[bot_user()], member=server_member())
    return payload


@asynccontextmanager
async def logged_in(services: Any, **options: Any) -> AsyncIterator[Any]:
    """A bot on SERVICES logged in to the fake (which runs setup_hook), in its server."""
    from bot.client import make_bot

    client = make_bot(services, **options)
    await client.login(GOOD_TOKEN)
    client._connection.application_id = int(APP_ID)
    client._connection.parse_guild_create(guild_create())
    try:
        yield client
    finally:
        await client.close()
