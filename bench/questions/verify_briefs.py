#!/usr/bin/env python3
"""Verify bench/questions/briefs-{dev,heldout}.jsonl against the real data (stdlib only).

Checks: schema, kinds and expect; unique ids; relative dates resolve against asked_on; every
fact alternative verbatim in the cleaned text of its source document; every "move" against the
Binance / Yahoo daily bars; refusals carry no facts/url/move; made-up names, figurative-only words
and uncovered dates really are absent/figurative in every corpus; dev and held-out share no
source document and no (asset, day) move.

    python3 bench/questions/verify_briefs.py        # prints per-question lines, then a summary
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("MARKETBOT_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
NEWS = os.path.join(SHARED, "data", "news")
PRICES = os.path.join(SHARED, "data", "prices")
FILES = {"dev": "briefs-dev.jsonl", "heldout": "briefs-heldout.jsonl"}
PREFIX = {"dev": "bdev-", "heldout": "bheld-"}

KEYS = [
    "id",
    "question",
    "kind",
    "expect",
    "asset",
    "asked_on",
    "follow_up_to",
    "facts",
    "source_url",
    "move",
    "note",
]
ANSWERED = {"move-right", "move-wrong", "fact", "multi", "follow-up"}
REFUSED = {"made-up", "advice", "future-date", "uncovered-date", "metaphor"}
MOVE_KINDS = {"move-right", "move-wrong"}
HELD_OUT_WINDOW = ("2025-10-20", "2025-12-05")  # never read, never asked about
COVERED = ("2025-09-30", "2026-03-28")  # first BlockWire rewrite .. last daily brief

# made-up names: none of these may occur (case-insensitive, word-bounded) in any corpus
ABSENT = {
    "bdev-52": [r"\bzorvex\b", r"\bZRVX\b"],
    "bdev-53": [r"\bquibblecoin\b", r"\bquibble\b", r"\bQBL\b"],
    "bdev-54": [r"\blumora\b"],
    "bdev-55": [r"\bflarnix\b", r"\bFLRX\b"],
    "bheld-22": [r"\bvelquor\b", r"\bVLQR\b"],
    "bheld-23": [r"\bkravix\b", r"\bKRVX\b"],
}
# words the corpora use only figuratively: (regex, number of occurrences reviewed by hand)
METAPHOR = {
    "bdev-63": (r"\bearthquakes?\b", 1),
    "bdev-64": (r"\bmassacres?\b", 1),
    "bheld-27": (r"\btsunamis?\b", 2),
}
# dates no corpus covers: (the day asked about, patterns that must not occur anywhere)
UNCOVERED = {
    "bdev-59": ("2026-05-14", [r"\bMay 14\b", r"2026-05-14"]),
    "bdev-60": ("2026-04-22", [r"\bApril 22\b", r"\bApr\.? 22\b", r"2026-04-22"]),
    "bdev-61": ("2025-07-19", [r"\bJuly 19\b", r"\bJul\.? 19\b", r"2025-07-19"]),
    "bdev-62": ("2025-05-10", [r"\bMay 10\b", r"2025-05-10"]),
    "bheld-25": ("2026-06-17", [r"\bJune 17\b", r"\bJun\.? 17\b", r"2026-06-17"]),
    "bheld-26": ("2025-09-10", [r"\bSeptember 10\b", r"\bSept?\.? 10\b", r"2025-09-10"]),
}

ok = True


def fail(msg: str) -> None:
    global ok
    ok = False
    print("FAIL", msg)


# -- corpora ------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """The cleanup the fact rule is defined on."""
    text = re.sub(r"\[\^\d+\]", "", text)  # footnote markers
    text = re.sub(r"\\(.)", r"\1", text)  # backslash escapes (\$ -> $)
    text = text.replace("**", "").replace("__", "")  # emphasis
    return "\n".join(re.sub(r"^\s*[#\-*]+\s*", "", line) for line in text.split("\n"))


def front_matter(raw: str) -> tuple[dict, str]:
    m = re.match(r"---\n(.*?)\n---\n", raw, re.S)
    meta = {}
    for line in m.group(1).split("\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip()] = v.strip().strip('"')
    return meta, raw[m.end() :]


docs: dict[str, dict] = {}  # url -> {"text": cleaned body, "title", "date", "corpus"}
raw_texts: list[str] = []  # every corpus text as stored, for absence checks


def add(url: str, title: str, body: str, date: str, corpus: str) -> None:
    if url in docs:  # one duplicated BlockWire url: keep both bodies
        docs[url]["text"] += "\n" + clean(body)
        return
    docs[url] = {"text": clean(body), "title": title, "date": date, "corpus": corpus}


for path in sorted(glob.glob(os.path.join(NEWS, "daily-briefs", "*.md"))):
    raw = open(path, encoding="utf-8").read()
    raw_texts.append(raw)
    meta, body = front_matter(raw)
    add(meta["url"], meta.get("title", ""), body, str(meta.get("date", ""))[:10], "brief")
for line in open(os.path.join(NEWS, "blockwire-news-dev.jsonl"), encoding="utf-8"):
    r = json.loads(line)
    raw_texts.append(r["title"] + "\n" + r["body"])
    add(r["url"], r["title"], r["body"], r["published_at"][:10], "blockwire")
for r in json.load(open(os.path.join(NEWS, "coindesk-api-2025-10-05.json"), encoding="utf-8"))[
    "Data"
]:
    raw_texts.append(r["title"] + "\n" + r["body"])
    day = dt.datetime.fromtimestamp(r["published_on"], dt.UTC).date().isoformat()
    add(r["url"], r["title"], r["body"], day, "coindesk")
for path in glob.glob(os.path.join(SHARED, "seed", "*.txt")):
    raw = open(path, encoding="utf-8").read()
    raw_texts.append(raw)
    add("seed", "", raw, "2025-11-05", "seed")

for url, d in docs.items():
    if (
        d["corpus"] in ("brief", "blockwire")
        and HELD_OUT_WINDOW[0] <= d["date"] <= HELD_OUT_WINDOW[1]
    ):
        fail(f"corpus contains a held-out-window document: {url} ({d['date']})")

# -- prices -------------------------------------------------------------------------------------

bars: dict[tuple[str, str], tuple[float, float]] = {}
for path in glob.glob(os.path.join(PRICES, "binance-1d", "*USDT_1d.csv")):
    ticker = os.path.basename(path).split("USDT")[0]
    for r in csv.DictReader(open(path)):
        bars[(ticker, r["open_time"][:10])] = (float(r["open"]), float(r["close"]))
for path in glob.glob(os.path.join(PRICES, "us-equities-1d", "*.csv")):
    ticker = os.path.basename(path)[:-4]
    for r in csv.DictReader(open(path)):
        bars[(ticker, r["Date"][:10])] = (float(r["Open"]), float(r["Close"]))
CRYPTO = {
    os.path.basename(p).split("USDT")[0]
    for p in glob.glob(os.path.join(PRICES, "binance-1d", "*.csv"))
}
PRICED = {t for t, _ in bars}

# -- question text helpers ------------------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
RELATIVE = re.compile(
    r"\b(yesterday|today|tonight|this week|last week|this month|last month|"
    r"the day after|the day before|the week before|" + "|".join(WEEKDAYS) + r")\b",
    re.I,
)
EXPLICIT = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? (\d{1,2})(?:st|nd|rd|th)?"
    r"(?:,? (\d{4}))?\b",
    re.I,
)
UP = re.compile(
    r"\b(?:pump\w*|rip|ripp\w*|rips|moon\w*|rall\w*|jump\w*|sent|send|squeez\w*|soar\w*|surg\w*|"
    r"up|green|rebound\w*|spik\w*)\b|(?<![\w.])\+\d",
    re.I,
)
DOWN = re.compile(
    r"\b(?:dump\w*|tank\w*|crash\w*|crater\w*|drop\w*|fell|fall\w*|bleed\w*|bled|nuke\w*|"
    r"rekt|slid\w*|plung\w*|down|lost|lose)\b|(?<![\w.])-\d",
    re.I,
)
PCT = re.compile(r"(\d+(?:\.\d+)?)\s?%")


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def explicit_dates(q: str, asked: dt.date) -> list[dt.date]:
    out = []
    for m in EXPLICIT.finditer(q):
        month, dom, year = MONTHS[m.group(1).lower()[:3]], int(m.group(2)), m.group(3)
        if year:
            out.append(dt.date(int(year), month, dom))
        else:  # the latest such day on or before the day asked
            y = asked.year
            cand = dt.date(y, month, dom)
            if cand > asked:
                cand = dt.date(y - 1, month, dom)
            out.append(cand)
    return out


def resolve_relative(q: str, asked: dt.date) -> dt.date | None:
    low = q.lower()
    if "yesterday" in low:
        return asked - dt.timedelta(days=1)
    if re.search(r"\b(today|tonight)\b", low):
        return asked
    for i, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", low):
            back = (asked.weekday() - i) % 7 or 7  # the most recent such weekday before today
            return asked - dt.timedelta(days=back)
    return None


# -- checks ---------------------------------------------------------------------------------------

files = {}
all_ids = []
n_alts = n_found = 0
for name, fname in FILES.items():
    rows = [json.loads(l) for l in open(os.path.join(HERE, fname), encoding="utf-8") if l.strip()]
    files[name] = rows
    seen_questions = []
    for r in rows:
        rid = r.get("id", "?")
        all_ids.append(rid)
        if list(r.keys()) != KEYS:
            missing, extra = set(KEYS) - set(r), set(r) - set(KEYS)
            if missing or extra:
                fail(f"{rid}: keys missing {sorted(missing)} extra {sorted(extra)}")
        if not rid.startswith(PREFIX[name]):
            fail(f"{rid}: id should start with {PREFIX[name]}")
        kind = r.get("kind")
        if kind not in ANSWERED | REFUSED:
            fail(f"{rid}: unknown kind {kind!r}")
            continue
        want = "answered" if kind in ANSWERED else "no_sources"
        if r["expect"] != want:
            fail(f"{rid}: kind {kind} needs expect {want}")
        q = r["question"]
        if not q.strip():
            fail(f"{rid}: empty question")
        # asked_on
        try:
            asked = day(r["asked_on"])
        except (TypeError, ValueError):
            fail(f"{rid}: asked_on missing or not YYYY-MM-DD: {r['asked_on']!r}")
            continue
        if RELATIVE.search(q) and not r["asked_on"]:
            fail(f"{rid}: relative date without asked_on")
        if HELD_OUT_WINDOW[0] <= r["asked_on"] <= HELD_OUT_WINDOW[1]:
            fail(f"{rid}: asked_on inside the held-out window")
        # follow-ups
        if kind == "follow-up":
            if not r["follow_up_to"]:
                fail(f"{rid}: follow-up without follow_up_to")
            elif r["follow_up_to"] not in seen_questions:
                fail(f"{rid}: follow_up_to is not an earlier question of this file")
        elif r["follow_up_to"] is not None:
            fail(f"{rid}: follow_up_to set on a {kind} question")
        seen_questions.append(q)
        # dates named in the question
        exp = explicit_dates(q, asked)
        rel = resolve_relative(q, asked)
        for m in re.finditer(r"\b(" + "|".join(WEEKDAYS) + r")\b", q.lower()):
            for d in exp:
                if WEEKDAYS[d.weekday()] != m.group(1):
                    fail(f"{rid}: {m.group(1)} does not match {d}")
        for d in exp:
            if d > asked:
                fail(f"{rid}: question names {d}, after asked_on {asked}")

        if kind in REFUSED:
            if r["facts"] or r["source_url"] is not None or r["move"] is not None:
                fail(f"{rid}: refusals need facts [], source_url null, move null")
            if kind == "made-up":
                terms = ABSENT.get(rid)
                if not terms:
                    fail(f"{rid}: no absence terms registered")
                    continue
                for t in terms:
                    rx = re.compile(t, re.I)
                    hits = sum(1 for t_ in raw_texts if rx.search(t_))
                    if hits:
                        fail(f"{rid}: made-up term {t!r} found in {hits} corpus documents")
                print(f"  {rid}: made-up OK, absent {terms}")
            elif kind == "metaphor":
                if rid not in METAPHOR:
                    fail(f"{rid}: no metaphor term registered")
                    continue
                pat, expected = METAPHOR[rid]
                rx = re.compile(pat, re.I)
                found = [m for t_ in raw_texts for m in rx.finditer(t_)]
                if len(found) != expected:
                    fail(
                        f"{rid}: {pat!r} occurs {len(found)} times, reviewed {expected} (all figurative) - re-review"
                    )
                else:
                    print(
                        f"  {rid}: metaphor OK, {pat!r} occurs {len(found)}x (reviewed: figurative only)"
                    )
            elif kind in ("future-date", "uncovered-date"):
                if rid not in UNCOVERED:
                    fail(f"{rid}: no uncovered date registered")
                    continue
                when, terms = UNCOVERED[rid]
                if when not in {d.isoformat() for d in exp}:
                    fail(f"{rid}: question does not name {when} explicitly")
                if COVERED[0] <= when <= COVERED[1]:
                    fail(f"{rid}: {when} is inside the covered period")
                if kind == "future-date" and when <= COVERED[1]:
                    fail(f"{rid}: future-date must be after {COVERED[1]}")
                if kind == "uncovered-date" and when >= COVERED[0]:
                    fail(f"{rid}: uncovered-date must be before {COVERED[0]}")
                if asked < day(when):
                    fail(f"{rid}: asked_on before the day asked about")
                for t in terms:
                    rx = re.compile(t, re.I)
                    hits = sum(1 for t_ in raw_texts if rx.search(t_))
                    if hits:
                        fail(f"{rid}: date pattern {t!r} found in {hits} corpus documents")
                print(f"  {rid}: {kind} OK, {when} not covered")
            else:
                print(f"  {rid}: {kind} OK")
            continue

        # -- answered questions --
        src = docs.get(r["source_url"])
        if src is None:
            fail(f"{rid}: source_url not in any corpus: {r['source_url']}")
            continue
        if (
            src["corpus"] in ("brief", "blockwire")
            and HELD_OUT_WINDOW[0] <= src["date"] <= HELD_OUT_WINDOW[1]
        ):
            fail(f"{rid}: source inside the held-out window")
        if src["date"] > r["asked_on"]:
            fail(f"{rid}: source published {src['date']}, after asked_on {r['asked_on']}")
        if (asked - day(src["date"])).days > 7:
            fail(f"{rid}: asked_on more than 7 days after the source ({src['date']})")
        if src["title"] and q.strip().lower() == src["title"].strip().lower():
            fail(f"{rid}: question copies the source title")
        if not (1 <= len(r["facts"]) <= 3):
            fail(f"{rid}: {len(r['facts'])} fact groups (want 1-3)")
        low = src["text"].lower()
        res = []
        for g in r["facts"]:
            if not g:
                fail(f"{rid}: empty fact group")
            for alt in g:
                n_alts += 1
                if alt.lower() in low:
                    n_found += 1
                    res.append(f"{alt!r}:ok")
                else:
                    fail(f"{rid}: alternative {alt!r} NOT in cleaned source text")
        # moves
        mv = r["move"]
        asset = r["asset"]
        if kind in MOVE_KINDS and asset in PRICED and mv is None:
            fail(f"{rid}: {asset} has price data, move needed")
        if kind in MOVE_KINDS and asset not in PRICED and mv is not None:
            fail(f"{rid}: {asset} has no price data, move must be null")
        if kind not in MOVE_KINDS | {"follow-up"} and mv is not None:
            fail(f"{rid}: move set on a {kind} question")
        if mv is not None:
            if set(mv) != {"asset", "direction", "date", "pct"}:
                fail(f"{rid}: bad move keys {sorted(mv)}")
                continue
            if mv["asset"] != asset:
                fail(f"{rid}: move asset {mv['asset']} != asset {asset}")
            bar = bars.get((mv["asset"], mv["date"]))
            if bar is None:
                fail(f"{rid}: no {mv['asset']} bar on {mv['date']}")
                continue
            o, c = bar
            pct = (c - o) / o * 100
            direction = "up" if c > o else "down"
            if mv["direction"] != direction:
                fail(f"{rid}: move direction {mv['direction']} but CSV says {direction}")
            if abs(pct - mv["pct"]) > 0.1 + 1e-9:
                fail(f"{rid}: move pct {mv['pct']} but CSV says {pct:.2f}")
            floor = 2 if mv["asset"] in CRYPTO else 3
            if abs(pct) < floor:
                fail(f"{rid}: |{pct:.1f}%| below the {floor}% meaningful-move floor")
            if HELD_OUT_WINDOW[0] <= mv["date"] <= HELD_OUT_WINDOW[1]:
                fail(f"{rid}: move inside the held-out window")
            md = day(mv["date"])
            if not (0 <= (asked - md).days <= 7):
                fail(f"{rid}: asked_on {asked} not within 0-7 days after the move {md}")
            if kind in MOVE_KINDS:
                # the day the question names must be the move's day
                named = exp or ([rel] if rel else [])
                if named and md not in named:
                    fail(f"{rid}: question names {named} but move is {md}")
                if not named:
                    fail(f"{rid}: move question names no day")
                # premise: right = same direction (and size within x1.6), wrong = direction or size off
                says_up, says_down = bool(UP.search(q)), bool(DOWN.search(q))
                said = (
                    "up"
                    if says_up and not says_down
                    else "down"
                    if says_down and not says_up
                    else None
                )
                sizes = [float(x) for x in PCT.findall(q)][
                    :1
                ]  # the first % is the asset's (later ones: SPY)
                size_ok = all(1 / 1.6 <= s / max(abs(pct), 0.01) <= 1.6 for s in sizes)
                if kind == "move-right" and (said != direction or not size_ok):
                    fail(
                        f"{rid}: move-right premise ({said}, {sizes}) vs data ({direction}, {pct:.1f})"
                    )
                if kind == "move-wrong" and said == direction and size_ok:
                    fail(
                        f"{rid}: move-wrong premise ({said}, {sizes}) matches data ({direction}, {pct:.1f})"
                    )
            res.append(f"move {mv['asset']} {mv['date']} {pct:+.1f}% ok")
        elif kind in MOVE_KINDS:
            if not (
                exp
                or rel
                or re.search(r"\b(lately|this (week|month)|in a day|after the crash)\b", q, re.I)
            ):
                fail(f"{rid}: move question without any time reference")
        print(f"  {rid}: " + ", ".join(res))

# ids unique across both files
dups = [i for i, n in collections.Counter(all_ids).items() if n > 1]
if dups:
    fail(f"duplicate ids: {dups}")
# held-out must be about other documents and other (asset, day) moves than dev
src = {n: {r["source_url"] for r in rows if r["source_url"]} for n, rows in files.items()}
if src["dev"] & src["heldout"]:
    fail(f"source documents shared by dev and held-out: {sorted(src['dev'] & src['heldout'])}")
moves = {
    n: {(r["move"]["asset"], r["move"]["date"]) for r in rows if r["move"]}
    for n, rows in files.items()
}
if moves["dev"] & moves["heldout"]:
    fail(f"moves shared by dev and held-out: {sorted(moves['dev'] & moves['heldout'])}")

print()
for name, rows in files.items():
    kinds = collections.Counter(r["kind"] for r in rows)
    exp_ = collections.Counter(r["expect"] for r in rows)
    days = {r["move"]["date"] for r in rows if r["move"]}
    print(f"{name}: {len(rows)} questions, {dict(exp_)}")
    print("   per kind: " + ", ".join(f"{k}={kinds[k]}" for k in sorted(ANSWERED | REFUSED)))
    print(
        f"   distinct source documents={len(src[name])}, distinct move days={len(days)}, "
        f"with price-checked move={sum(1 for r in rows if r['move'])}"
    )
if len(files["dev"]) < 62:
    fail("dev has fewer than 62 questions")
dev_k = collections.Counter(r["kind"] for r in files["dev"])
if dev_k["move-right"] < 10 or dev_k["move-wrong"] < 10:
    fail("dev needs at least 10 move-right and 10 move-wrong")
if sum(dev_k[k] for k in REFUSED) < 12:
    fail("dev needs at least 12 refusals")
if sum(1 for r in files["heldout"] if r["kind"] in REFUSED) < 5:
    fail("held-out needs at least 5 refusals")
print(f"fact alternatives found verbatim: {n_found}/{n_alts}")
print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
sys.exit(0 if ok else 1)
