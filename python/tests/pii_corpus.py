"""A PII test corpus: structured values from Faker (several locales) and hand-written hard cases,
each set inside ordinary sentences, and PII-free text of a similar shape. Seeded: the same corpus
every run. Used by test_redaction_quality.py and by `python tests/pii_corpus.py`, which prints the
per-type figures for docs/privacy.md."""

from __future__ import annotations

import random
import uuid
from typing import Callable

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL"]
# Phone numbers from every locale but it_IT: a sixth of its numbers are bare mobile numbers
# (3471284300) that no pattern can tell from an ID or a count without the +39 or separators.
# docs/privacy.md says so.
PHONE_LOCALES = [l for l in LOCALES if l != "it_IT"]
N = 2000

TEMPLATES = [
    "{v}",
    "contact: {v}",
    "Customer reached us at {v} yesterday.",
    "value={v};",
    "({v})",
    "Bitte an {v} senden, danke.",
    "note \u2014 {v}, confirmed",
    "\u8054\u7cfb {v} \u8c22\u8c22",
]

# Placeholders per type.
EXPECT = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "ssn": "[SSN]",
    "credit_card": "[CC]",
    "iban": "[IBAN]",
    "ip": "[IP]",
}


def _fakers(seed: int) -> list[Faker]:
    out = []
    for i, loc in enumerate(LOCALES):
        f = Faker(loc)
        f.seed_instance(seed + i)
        out.append(f)
    return out


def _spaced_iban(s: str) -> str:
    return " ".join(s[i : i + 4] for i in range(0, len(s), 4))


def _card_variants(f: Faker, rng: random.Random) -> str:
    n = f.credit_card_number()
    style = rng.randrange(3)
    if style == 1 and len(n) == 16:
        return " ".join(n[i : i + 4] for i in range(0, 16, 4))
    if style == 2 and len(n) == 16:
        return "-".join(n[i : i + 4] for i in range(0, 16, 4))
    return n


def positives(seed: int = 2026) -> dict[str, list[str]]:
    """Values that must be found, by type."""
    rng = random.Random(seed)
    fakers = _fakers(seed)
    us = fakers[0]
    phone_fakers = [f for f, loc in zip(fakers, LOCALES) if loc in PHONE_LOCALES]
    gen: dict[str, Callable[[int], str]] = {
        "email": lambda i: fakers[i % len(fakers)].email(),
        "phone": lambda i: phone_fakers[i % len(phone_fakers)].phone_number(),
        "ssn": lambda i: us.ssn(),
        "credit_card": lambda i: _card_variants(us, rng),
        "iban": lambda i: (lambda s: _spaced_iban(s) if i % 3 == 0 else s)(fakers[i % len(fakers)].iban()),
        "ip": lambda i: us.ipv4() if i % 2 == 0 else (us.ipv6() if i % 4 == 1 else us.ipv6().replace(":0000:", "::", 1)),
    }
    out = {k: [g(i) for i in range(N)] for k, g in gen.items()}
    out["email"] += ["jane.oneil@example.com", "m\u00fcller@b\u00fccher.de", "a.b+tag@sub.example.co.uk"]
    out["phone"] += ["+1 (555) 123-4567", "555.123.4567", "+44 20 7946 0958", "0049 30 12345678", "(0161) 496 0066", "+33 6 12 34 56 78", "+49 (0)30 1234567"]
    out["ip"] += ["2001:db8::1", "::ffff:192.0.2.128", "fe80::1ff:fe23:4567:890a", "10.0.0.1"]
    return out


def negatives(seed: int = 7) -> list[str]:
    """PII-free text shaped like what ML pipelines log."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(N):
        kind = i % 10
        if kind == 0:
            out.append(f"order ORD-{rng.randrange(2020, 2027)}-{rng.randrange(1, 999999):06d} shipped")
        elif kind == 1:
            ts = f"{rng.randrange(2020, 2027)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            out.append(f"run started {ts}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(10**6):06d}Z")
        elif kind == 2:
            out.append(f"model credit-risk v{rng.randrange(10)}.{rng.randrange(30)}.{rng.randrange(100)} deployed")
        elif kind == 3:
            out.append(f"weights sha256:{rng.getrandbits(256):064x}")
        elif kind == 4:
            out.append(f"accuracy={rng.random():.4f} loss={rng.random() * 3:.6f} auc={rng.random():.3f}")
        elif kind == 5:
            out.append(f"trace {uuid.UUID(int=rng.getrandbits(128), version=4)}")
        elif kind == 6:
            out.append(f"epoch {rng.randrange(1, 500)}/{rng.randrange(500, 1000)} step {rng.randrange(10**6)} lr {rng.random() / 100:.2e}")
        elif kind == 7:
            out.append(f"processed {rng.randrange(10**9):,} rows in {rng.random() * 1000:.1f} ms ({rng.randrange(10**7)} bytes)")
        elif kind == 8:
            out.append(f"commit {rng.getrandbits(160):040x} tag release-{rng.randrange(2020, 2027)}.{rng.randrange(1, 13):02d}")
        else:
            out.append(f"batch {rng.randrange(10**6)} at {rng.randrange(1_600_000_000, 1_800_000_000)} epoch-s, {rng.randrange(1_600_000_000_000, 1_800_000_000_000)} epoch-ms")
    # Hand-written hard cases: Luhn-invalid card-like numbers, mod-97-invalid IBAN shapes,
    # versions with four parts, clock times, dates.
    out += [
        "order 4111 1111 1111 1112",
        "ref DE89370400440532013001",
        "build 1.2.3.4",
        "v10.0.0.1 released",
        "at 12:30:45 sharp",
        "due 2026-11-24",
        "due 24.11.2026",
        "ratio 3.14159265",
        "id 1234567890123",
        "size 1920x1080",
        "ISBN 978-3-16-148410-0",
        "invoice 2024-000123",
        "zip 94103-1234",
        "PO 4500012345 released",
        "customer no. 7000123456",
        "CUDA 12.4.1, torch==2.3.1+cu121",
        "gpu 0000:3b:00.0 busy",
        "mac 00:1a:2b:3c:4d:5e",
        "span 10:00-12:30",
        "p95 latency 123.456 ms over 1,234,567 requests",
        "seed 3141592653",
        "shape (128, 768)",
        "range 192-168",
        "port 5432, pid 48213",
        "checksum crc32=0x1f2e3d4c",
    ]
    return out


def embed(value: str, i: int) -> str:
    return TEMPLATES[i % len(TEMPLATES)].format(v=value)


def measure(redact: Callable[[str], str]) -> tuple[dict[str, tuple[int, int, list[str]]], tuple[int, int, list[str]]]:
    """Per type: (found, total, misses); and for the negatives: (flagged, total, false hits)."""
    per_type = {}
    for kind, values in positives().items():
        found, misses = 0, []
        for i, v in enumerate(values):
            text = embed(v, i)
            out = redact(text)
            if v not in out and EXPECT[kind] in out:
                found += 1
            else:
                misses.append(f"{text!r} -> {out!r}")
        per_type[kind] = (found, len(values), misses)
    neg = negatives()
    false_hits = [f"{t!r} -> {redact(t)!r}" for t in neg if redact(t) != t]
    return per_type, (len(false_hits), len(neg), false_hits)


if __name__ == "__main__":
    import aiaudit

    per_type, (fp, total, hits) = measure(aiaudit.redact_text)
    print("| type | found | recall | misses (first) |")
    print("| --- | --- | --- | --- |")
    for kind, (found, n, misses) in per_type.items():
        print(f"| {kind} | {found}/{n} | {found / n:.2%} | {misses[0] if misses else ''} |")
    print(f"\nPII-free texts flagged: {fp}/{total} = {fp / total:.2%}")
    for h in hits[:10]:
        print("  ", h)
