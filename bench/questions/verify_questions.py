#!/usr/bin/env python3
"""Verify bench question files: schema, fact alternatives verbatim in source, no_sources coverage."""

import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = "/work/shared/data/news/coindesk-api-2025-10-05.json"
SEED = "/work/shared/seed/000_0636547a746525d5.txt"
data = json.load(open(CORPUS))["Data"]
by_url = {x["url"]: x for x in data}
seed_full = open(SEED).read()
# drop scraping junk (landslide paragraph + teaser list)
seed = seed_full.split("According to a report citing the Messenger Post")[0]
# terms that must NOT appear anywhere in the corpus for the no_sources questions
NS_TERMS = {
    "dev-35": [r"kaspa", r"\bKAS\b"],
    "dev-36": [r"peloton"],
    "dev-37": [r"\bgox\b"],
    "dev-38": [r"monero", r"\bXMR\b"],
    "dev-39": [r"nikkei"],
    "dev-40": [r"celsius"],
    "heldout-19": [r"boeing", r"door plug"],
    "heldout-20": [r"\bICP\b", r"internet computer"],
    "heldout-21": [r"swiss franc", r"\bCHF\b"],
}
ok = True


def fail(msg):
    global ok
    ok = False
    print("FAIL", msg)


files = {}
for name in ("dev", "heldout"):
    rows = [json.loads(l) for l in open(os.path.join(HERE, name + ".jsonl"))]
    files[name] = rows
n_alts = n_found = 0
for name, rows in files.items():
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        fail(f"{name}: duplicate ids")
    for r in rows:
        for k in ("id", "question", "expect", "asset", "facts", "source_url", "note"):
            if k not in r:
                fail(f"{r.get('id')}: missing {k}")
        if r["expect"] == "no_sources":
            if r["facts"] or r["source_url"] is not None:
                fail(f"{r['id']}: no_sources must have empty facts/null url")
            terms = NS_TERMS.get(r["id"])
            if not terms:
                fail(f"{r['id']}: no absence terms registered")
                continue
            for t in terms:
                rx = re.compile(t, re.I)
                hits = [x["url"] for x in data if rx.search(x["title"] + " " + x["body"])]
                if hits or rx.search(seed_full):
                    fail(f"{r['id']}: term {t!r} found in corpus {hits[:3]}")
            print(f"  {r['id']}: no_sources OK, absent terms {terms}")
            continue
        if r["expect"] != "answered":
            fail(f"{r['id']}: bad expect")
            continue
        if not (1 <= len(r["facts"]) <= 4):
            fail(f"{r['id']}: {len(r['facts'])} fact groups")
        if r["source_url"] == "seed":
            text = seed
        else:
            art = by_url.get(r["source_url"])
            if art is None:
                fail(f"{r['id']}: url not in corpus")
                continue
            text = art["body"]
            if r["question"].strip().lower() == art["title"].strip().lower():
                fail(f"{r['id']}: question copies title")
        low = text.lower()
        res = []
        for g in r["facts"]:
            if not g:
                fail(f"{r['id']}: empty group")
            for alt in g:
                n_alts += 1
                if alt.lower() in low:
                    n_found += 1
                    res.append(f"{alt!r}:ok")
                else:
                    fail(f"{r['id']}: alternative {alt!r} NOT in source body")
                    res.append(f"{alt!r}:MISSING")
        print(f"  {r['id']}: " + ", ".join(res))


# article reuse
def arts(rows):
    return {r["source_url"] for r in rows if r["source_url"] and r["source_url"] != "seed"}


overlap = arts(files["dev"]) & arts(files["heldout"])
if overlap:
    fail(f"articles reused across dev/heldout: {overlap}")
print()
for name, rows in files.items():
    c = collections.Counter(r["expect"] for r in rows)
    seedn = sum(r["source_url"] == "seed" for r in rows)
    print(
        f"{name}: {len(rows)} questions, {dict(c)}, seed={seedn}, distinct coindesk-dump articles={len(arts(rows))}"
    )
print(
    f"distinct coindesk-dump articles overall: {len(arts(files['dev']) | arts(files['heldout']))}; dev/heldout overlap: {len(overlap)}"
)
print(f"fact alternatives found verbatim: {n_found}/{n_alts}")
print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
sys.exit(0 if ok else 1)
