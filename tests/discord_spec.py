"""What Discord accepts, from Discord's own description: the request schema of every endpoint
(its official OpenAPI description, tests/fixtures/discord/openapi.trimmed.json) and the limits
its developer documentation adds where the schema is silent or more lenient.

`problems(method, path, body)` lists what Discord would refuse (or show otherwise than the bot
meant) in one request body; the local Discord fake checks every request it receives with it.
Two documented departures from the schema, both from the spec's own README: snowflakes may be
sent as JSON integers, and a message's content is limited to 2000 characters.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).parent / "fixtures" / "discord" / "openapi.trimmed.json"
SPEC_URI = "urn:discord-openapi"

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
EMBED_LIMITS = {"title": 256, "description": 4096, "footer": 2048, "author": 256}
EMBED_FIELDS, FIELD_NAME, FIELD_VALUE, EMBEDS_TOTAL = 25, 256, 1024, 6000
CONTENT_LIMIT = 2000  # https://discord.com/developers/docs/resources/message#create-message
# https://discord.com/developers/docs/components/reference#action-row
ROWS, PER_ROW = 5, 5
# https://discord.com/developers/docs/interactions/application-commands
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
CHOICES = 25
FILES = 10


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literals: int  # segments without a parameter: "@original" wins over "{message_id}"


@functools.cache
def _spec() -> dict[str, Any]:
    spec = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {"anyOf": [snowflake, {"type": "integer", "minimum": 0}]}
    return spec


@functools.cache
def _registry() -> Registry:  # type: ignore[type-arg]
    resource = Resource(contents=_spec(), specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _routes() -> tuple[Route, ...]:
    routes = []
    for template in _spec()["paths"]:
        segments = template.strip("/").split("/")
        regex = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
        literals = sum(not s.startswith("{") for s in segments)
        routes.append(Route(template, re.compile(f"^/{regex}$"), literals))
    return tuple(sorted(routes, key=lambda r: -r.literals))


def route(path: str) -> str | None:
    """The spec's path template a request path is sent to ("/channels/{channel_id}/...")."""
    return next((r.template for r in _routes() if r.pattern.match(path)), None)


@functools.cache
def _validator(template: str, method: str, media: str) -> Draft202012Validator | None:
    operation = _spec()["paths"][template].get(method.lower())
    if operation is None:
        raise LookupError(f"{method} {template} is not an operation Discord has")
    content = (operation.get("requestBody") or {}).get("content") or {}
    if media not in content:
        return None
    # References are to the spec's own components: resolve them inside the spec document
    # (the JSON round trip also leaves the cached spec untouched).
    schema = json.loads(
        json.dumps(content[media]["schema"]).replace('"#/components/', f'"{SPEC_URI}#/components/')
    )
    return Draft202012Validator(schema, registry=_registry())


def problems(method: str, path: str, body: Any, *, media: str = "application/json") -> list[str]:
    """What is wrong with BODY as the request METHOD PATH (path below /api/v10), by the spec's
    schema and the documented limits; empty when Discord would take it as meant."""
    template = route(path)
    if template is None:
        return [f"{method} {path}: no such endpoint in Discord's API"]
    try:
        validator = _validator(template, method, media)
    except LookupError as error:
        return [str(error)]
    if body is None:
        return []
    found = []
    if validator is not None:
        payload = (
            {k: v for k, v in body.items() if k != "files"}
            if media.startswith("multipart/")
            else body
        )
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            found.append(f"{method} {template}: {where}: {error.message[:300]}")
    found += _limits(template, body)
    return found


def _limits(template: str, body: Any) -> list[str]:
    if template.endswith("/callback"):
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return []
        if body.get("type") == 8:
            choices = data.get("choices") or []
            return [f"autocomplete: {len(choices)} choices (at most {CHOICES})"] * (
                len(choices) > CHOICES
            )
        return message_limits(data)
    if template.endswith("/commands") and isinstance(body, list):
        return [p for command in body for p in command_limits(command)]
    if isinstance(body, dict) and ("/messages" in template or template.startswith("/webhooks/")):
        return message_limits(body)
    return []


def message_limits(body: dict[str, Any]) -> list[str]:
    """Discord's documented limits on a message, beyond the schema's."""
    found = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:
        found.append(f"content: {len(content)} characters (at most {CONTENT_LIMIT})")
    total = 0
    for n, embed in enumerate(body.get("embeds") or []):
        sizes = {
            "title": len(embed.get("title") or ""),
            "description": len(embed.get("description") or ""),
            "footer": len((embed.get("footer") or {}).get("text") or ""),
            "author": len((embed.get("author") or {}).get("name") or ""),
        }
        for key, size in sizes.items():
            if size > EMBED_LIMITS[key]:
                found.append(f"embeds/{n}/{key}: {size} characters (at most {EMBED_LIMITS[key]})")
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS:
            found.append(f"embeds/{n}/fields: {len(fields)} (at most {EMBED_FIELDS})")
        for f, field in enumerate(fields):
            if not field.get("name") or not field.get("value"):
                found.append(f"embeds/{n}/fields/{f}: a field needs a name and a value")
            if len(field.get("name") or "") > FIELD_NAME:
                found.append(f"embeds/{n}/fields/{f}/name: over {FIELD_NAME} characters")
            if len(field.get("value") or "") > FIELD_VALUE:
                found.append(f"embeds/{n}/fields/{f}/value: over {FIELD_VALUE} characters")
        total += sum(sizes.values()) + sum(
            len(f.get("name") or "") + len(f.get("value") or "") for f in fields
        )
    if total > EMBEDS_TOTAL:
        found.append(f"embeds: {total} characters in all (at most {EMBEDS_TOTAL})")
    rows = body.get("components") or []
    if len(rows) > ROWS:
        found.append(f"components: {len(rows)} action rows (at most {ROWS})")
    ids = [
        item.get("custom_id")
        for row in rows
        for item in row.get("components") or []
        if item.get("custom_id")
    ]
    if len(ids) != len(set(ids)):
        found.append("components: two components share a custom_id")
    files = body.get("files") or []
    if len(files) > FILES:
        found.append(f"files: {len(files)} (at most {FILES})")
    return found


def command_limits(command: dict[str, Any], parent: str = "") -> list[str]:
    """Discord's rules for registering a command that the schema does not state."""
    found = []
    own = str(command.get("name", ""))
    name = f"{parent} {own}".strip()
    if not COMMAND_NAME.fullmatch(own) or own != own.lower():
        found.append(f"command {name!r}: names are 1-32 lowercase characters")
    if command.get("type", 1) == 1 and not 1 <= len(command.get("description") or "") <= 100:
        found.append(f"command {name!r}: a description of 1-100 characters is required")
    options = command.get("options") or []
    if len(options) > 25:
        found.append(f"command {name!r}: {len(options)} options (at most 25)")
    required_seen_optional = False
    for option in options:
        if not COMMAND_NAME.fullmatch(str(option.get("name", ""))):
            found.append(f"command {name!r}: option {option.get('name')!r} is not a valid name")
        if option.get("type") in (1, 2):  # subcommands and groups carry their own options
            found += command_limits({**option, "type": 1}, name)
            continue
        if not option.get("required"):
            required_seen_optional = True
        elif required_seen_optional:
            found.append(f"command {name!r}: required option {option['name']!r} after optional")
    return found
