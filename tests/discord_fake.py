"""A local stand-in for Discord's REST API on 127.0.0.1, recording what the bot sends.

It answers the routes the bot uses with the response shapes of Discord's documentation
(https://discord.com/developers/docs): the current user, interaction callbacks (with
`with_response`), webhook follow-ups and edits, channel messages and their edits. discord.py is
pointed at it through `Route.BASE`, so every request goes through discord.py's own HTTP code.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = "1100000000000000001"
APP_ID = BOT_ID
GUILD_ID = "1200000000000000001"
CHANNEL_ID = "1300000000000000001"
USER_ID = "1400000000000000001"
GOOD_TOKEN = "fake-token"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    at: float


@dataclass
class FakeDiscord:
    """The recorded requests, and the server's address."""

    base: str = ""
    requests: list[Request] = field(default_factory=list)
    callback_delay: float = 0.0
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
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = await _multipart(request, raw)
        path = "/" + request.match_info["tail"]
        self.requests.append(
            Request(
                request.method, path, dict(request.query), body, asyncio.get_running_loop().time()
            )
        )
        token_in_path = path.startswith(("/interactions/", "/webhooks/"))
        if not token_in_path and request.headers.get("Authorization") != f"Bot {GOOD_TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
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
            await asyncio.sleep(self.callback_delay)
            interaction_id = path.split("/")[2]
            kind = body.get("type") if isinstance(body, dict) else None
            return _json(
                {
                    "interaction": {
                        "id": interaction_id,
                        "type": 2,
                        "response_message_loading": kind == 5,
                        "response_message_ephemeral": bool(
                            (body or {}).get("data", {}).get("flags", 0) & 64
                        ),
                    },
                    "resource": {"type": kind},
                }
            )
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
            return _json(self.message(body or {}))
        if path.startswith("/channels/") and path.endswith("/messages"):
            return _json(self.message(body or {}, path.split("/")[2]))
        edit = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if edit and request.method == "PATCH":  # the edited message, under its own id
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
        "token": "interaction-token",
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
        payload["guild_id"] = guild_id
        payload["message_reference"]["guild_id"] = guild_id
        payload["member"] = {
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    return payload
