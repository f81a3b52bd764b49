"""The asset alias table: which assets a text mentions, and what symbol a user's word means."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    symbol: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    ambiguous_aliases: tuple[str, ...] = ()


class AssetTable:
    """Finds asset mentions: plain aliases in any case; ambiguous ones only as LINK or $link."""

    def __init__(self, assets: list[Asset]) -> None:
        self.assets = {a.symbol: a for a in assets}
        plain: dict[str, str] = {}
        strict: dict[str, str] = {}
        for asset in assets:
            for alias in {*asset.aliases, asset.symbol.lower(), asset.name.lower()}:
                target = strict if alias in asset.ambiguous_aliases else plain
                target[alias] = asset.symbol
        self._plain = plain
        self._strict = strict
        self._found: dict[str, tuple[str, ...]] = {}
        # Matched against the lower-cased text: several times faster than IGNORECASE.
        self._plain_re = _alternation(plain, 0)
        # Ambiguous words count when written as a ticker (upper case) or cash-tagged ($link).
        self._strict_re = _alternation({k.upper(): v for k, v in strict.items()}, 0)
        self._cashtag_re = re.compile(r"\$([A-Za-z]{2,10})\b")

    @classmethod
    def load(cls, path: Path) -> AssetTable:
        data = json.loads(path.read_text(encoding="utf-8"))
        assets = [
            Asset(
                symbol=row["symbol"].upper(),
                name=row["name"],
                kind=row.get("kind", "crypto"),
                aliases=tuple(a.lower() for a in row.get("aliases", [])),
                ambiguous_aliases=tuple(a.lower() for a in row.get("ambiguous_aliases") or []),
            )
            for row in data["assets"]
        ]
        return cls(assets)

    def find(self, text: str) -> tuple[str, ...]:
        """Symbols mentioned in text, in order of first mention (memoised for short texts:
        an answer asks this of the same sentences again and again)."""
        if len(text) > 2000:
            return self._find(text)
        found = self._found.get(text)
        if found is None:
            if len(self._found) > 100_000:
                self._found.clear()
            found = self._found[text] = self._find(text)
        return found

    def _find(self, text: str) -> tuple[str, ...]:
        found: dict[str, int] = {}
        lowered = text.lower()
        for regex, table, subject in (
            (self._plain_re, self._plain, lowered),
            (self._strict_re, self._strict, text),
        ):
            if regex is None:
                continue
            for match in regex.finditer(subject):
                found.setdefault(table[match.group(1).lower()], match.start())
        for match in self._cashtag_re.finditer(text):
            word = match.group(1).lower()
            tagged = self._plain.get(word) or self._strict.get(word)
            if tagged:
                found.setdefault(tagged, match.start())
        return tuple(sorted(found, key=found.__getitem__))

    def resolve(self, word: str) -> str | None:
        """The symbol a user means by a word such as "eth", "Ether" or "chainlink"."""
        key = word.strip().lstrip("$").lower()
        return self._plain.get(key) or self._strict.get(key)

    def suggest(self, typed: str, limit: int = 25) -> list[Asset]:
        """Assets for an autocomplete box: ticker matches first, then names, then aliases;
        the table's own order (largest first) when nothing is typed yet."""
        key = typed.strip().lstrip("$").lower()
        if not key:
            return list(self.assets.values())[:limit]
        ranked: list[tuple[int, int, Asset]] = []
        for order, asset in enumerate(self.assets.values()):
            symbol, name = asset.symbol.lower(), asset.name.lower()
            words = (*asset.aliases, *asset.ambiguous_aliases)
            if symbol == key:
                rank = 0
            elif symbol.startswith(key):
                rank = 1
            elif name.startswith(key) or any(w.startswith(key) for w in words):
                rank = 2
            elif key in name or any(key in w for w in words):
                rank = 3
            else:
                continue
            ranked.append((rank, order, asset))
        return [asset for _, _, asset in sorted(ranked, key=lambda r: (r[0], r[1]))[:limit]]

    def name(self, symbol: str) -> str:
        asset = self.assets.get(symbol)
        return asset.name if asset else symbol


def _alternation(words: dict[str, str], flags: int) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)
    body = "|".join(re.escape(w) for w in ordered)
    return re.compile(rf"(?<![\w$])({body})(?![\w])", flags)
