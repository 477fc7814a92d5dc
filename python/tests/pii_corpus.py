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


HEX = "0123456789abcdef"
DIGITS = "0123456789"
K8S = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of pod-template hashes and pod suffixes
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
N_IDS = 5000


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _uuid(rng: random.Random, version: int, i: int) -> str:
    if version == 7:
        ms = rng.randrange(1_600_000_000_000, 1_900_000_000_000)
        u = uuid.UUID(int=(ms << 80) | rng.getrandbits(80), version=4)
        h = u.hex
        h = h[:12] + "7" + h[13:]
    else:
        h = uuid.UUID(int=rng.getrandbits(128), version=4).hex
    # One in four with its middle groups all digits (bfe23862-5551-4234-8901-6fe56ef17b32): the
    # shape that was taken for a phone number.
    if i % 4 == 0:
        h = h[:8] + _pick(rng, DIGITS, 4) + h[12] + _pick(rng, DIGITS, 3) + rng.choice("89") + _pick(rng, DIGITS, 3) + h[20:]
    if i % 8 == 1:
        h = h[:20] + _pick(rng, DIGITS, 12)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _hexid(rng: random.Random, n: int, i: int) -> str:
    # One in five all decimal digits, as trace and span ids sometimes are.
    return _pick(rng, DIGITS if i % 5 == 0 else HEX, n)


def _luhn_ok(d: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(d)):
        x = int(ch)
        if k % 2 == 1:
            x = x * 2 - 9 if x > 4 else x * 2
        total += x
    return total % 10 == 0


def _iban_ok(s: str) -> bool:
    t = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in t)) % 97 == 1


def identifiers(seed: int = 13) -> dict[str, list[str]]:
    """Machine identifiers in the context ML pipelines log them, N_IDS of each kind: none of them
    is personal data, and redaction must leave every one as it is."""
    rng = random.Random(seed)
    out: dict[str, list[str]] = {}

    def gen(kind: str, f: Callable[[int], str]) -> None:
        out[kind] = [f(i) for i in range(N_IDS)]

    uuid_ctx = ["request_id={}", "Processing request {}", "GET /v1/predictions/{} 200", "run {} finished", "{}", "event {} sealed", "correlation: {}"]
    gen("uuid4", lambda i: uuid_ctx[i % len(uuid_ctx)].format(_uuid(rng, 4, i)))
    gen("uuid7", lambda i: uuid_ctx[(i + 3) % len(uuid_ctx)].format(_uuid(rng, 7, i)))
    gen("traceparent", lambda i: f"traceparent: 00-{_hexid(rng, 32, i)}-{_hexid(rng, 16, i + 1)}-0{i % 2}")
    gen("trace_span_ids", lambda i: f"trace_id={_hexid(rng, 32, i)} span_id={_hexid(rng, 16, i)}" if i % 2 else f"span {_hexid(rng, 16, i)} of trace {_hexid(rng, 32, i + 1)}")
    gen("sha256", lambda i: ["weights sha256:{}", "digest={}", "dataset hash {}"][i % 3].format(_pick(rng, HEX, 64)))
    gen("git", lambda i: f"commit {_pick(rng, HEX, 40)}" if i % 2 else f"built from {_pick(rng, HEX, rng.randrange(7, 13))} on main")
    gen("ulid", lambda i: ["job {}", "id={}", "artifact {} stored"][i % 3].format(_pick(rng, "0123456789ABCDEFGHJKMNPQRS"[:8], 1) + _pick(rng, CROCKFORD, 25)))

    def pod(i: int) -> str:
        name = rng.choice(["scorer", "credit-risk-api", "feature-store", "trainer", "drift-monitor"])
        if i % 5 == 0:  # numeric hashes, as in `scorer-4354015920-73873`
            return f"pod {name}-{_pick(rng, DIGITS, 10)}-{_pick(rng, DIGITS, 5)} restarted"
        if i % 5 == 1:
            return f"statefulset pod {name}-{rng.randrange(100)} ready"
        return f"pod {name}-{_pick(rng, K8S, rng.choice([9, 10]))}-{_pick(rng, K8S, 5)} restarted"

    gen("k8s_pod", pod)

    def order(i: int) -> str:
        y = rng.randrange(2020, 2027)
        return [
            f"order ORD-{y}-{_pick(rng, DIGITS, 12)} shipped",
            f"invoice INV-{y}-{_pick(rng, DIGITS, rng.randrange(6, 11))}",
            f"ticket TKT-{_pick(rng, DIGITS, 10)} closed",
            f"JIRA MLOPS-{rng.randrange(1, 99999)} resolved",
            f"order no. {rng.randrange(1, 10)}{_pick(rng, DIGITS, 9)}",
            f"case #{_pick(rng, DIGITS, 10)} escalated",
        ][i % 6]

    gen("order_ids", order)

    def stamp(i: int) -> str:
        ms = rng.randrange(1_600_000_000_000, 1_900_000_000_000)
        t = f"{rng.randrange(2020, 2027)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        c = f"{rng.randrange(24):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"
        return [
            f"ts={ms}",
            f"created_at {ms // 1000}",
            f"window {t}T{c}Z",
            f"snapshot {t}{c}",
            f"at {ms} ms",
            f"batch {t}{c}{rng.randrange(1000):03d}",
        ][i % 6]

    gen("timestamps", stamp)

    def semver(i: int) -> str:
        a, b, c = rng.randrange(30), rng.randrange(40), rng.randrange(300)
        return [
            f"v{a}.{b}.{c}+build.{_pick(rng, DIGITS, rng.randrange(10, 15))}",
            f"{a}.{b}.{c}-rc.{rng.randrange(10)}+{rng.randrange(2020, 2027)}{_pick(rng, DIGITS, 10)}",
            f"torch=={a}.{b}.{c}+cu{rng.randrange(100, 130)}",
            f"image credit-risk:{a}.{b}.{c}-{_pick(rng, DIGITS, 10)}",
        ][i % 4]

    gen("semver", semver)

    def key(i: int) -> str:
        return [
            f"s3://ml-data/{rng.randrange(2020, 2027)}/part-{_pick(rng, DIGITS, 5)}-{_uuid(rng, 4, i)}.c000.snappy.parquet",
            f"gs://features/dt=2026-{rng.randrange(1, 13):02d}-01/hour={rng.randrange(24)}/{_pick(rng, DIGITS, 10)}.json",
            f"az://archive/2026/{rng.randrange(1, 13):02d}/{_pick(rng, DIGITS, 12)}.avro",
            f"/mnt/data/shard-{_pick(rng, DIGITS, 10)}-of-{_pick(rng, DIGITS, 10)}.tfrecord",
            f"https://registry.example/models/{_pick(rng, DIGITS, 10)}/versions/{rng.randrange(100)}",
        ][i % 5]

    gen("object_keys", key)

    def count(i: int) -> str:
        k = ["rows_scanned", "bytes_written", "tokens_total", "records", "cache_misses", "offset"][i % 6]
        return f"{k}={rng.randrange(2_000_000_000, 9_999_999_999)}" if i % 2 else f"{k}: {rng.randrange(10**9, 10**12)}"

    gen("counts", count)

    def bad_card(i: int) -> str:
        while True:
            d = rng.choice(["4", "51", "2272", "6011", "37", "9", "0"]) + _pick(rng, DIGITS, 16)
            d = d[:15 if d.startswith("37") else 16]
            if not _luhn_ok(d):
                break
        if i % 3 == 0:
            d = " ".join(d[k : k + 4] for k in range(0, len(d), 4))
        elif i % 3 == 1:
            d = "-".join(d[k : k + 4] for k in range(0, len(d), 4))
        return [f'reference "{d}"', f"voucher {d} applied", f"ref={d}"][i % 3]

    gen("luhn_failing_numbers", bad_card)

    def bad_iban(i: int) -> str:
        while True:
            s = rng.choice(["DE", "FR", "GB", "NL", "ES", "IT"]) + _pick(rng, DIGITS, 2) + _pick(rng, DIGITS, rng.randrange(14, 23))
            if not _iban_ok(s):
                break
        if i % 2:
            s = " ".join(s[k : k + 4] for k in range(0, len(s), 4))
        return [f"ref {s}", f"mandate {s} created", f'payment_reference="{s}"'][i % 3]

    gen("mod97_failing_ibans", bad_iban)
    return out


# The identifier kinds that must come through with no change at all.
EXACT_KINDS = {"uuid4", "uuid7", "traceparent", "trace_span_ids", "sha256", "git", "ulid"}


def measure_identifiers(redact: Callable[[str], str]) -> dict[str, tuple[int, int, list[str]]]:
    """Per identifier kind: (changed, total, first changes)."""
    out = {}
    for kind, texts in identifiers().items():
        changed = [f"{t!r} -> {redact(t)!r}" for t in texts if redact(t) != t]
        out[kind] = (len(changed), len(texts), changed[:5])
    return out


def embed(value: str, i: int) -> str:
    return TEMPLATES[i % len(TEMPLATES)].format(v=value)


# Templates that say the number beside them is a phone, for bare digit runs (English, German,
# French, Chinese): without such a word, `0649012222` is as likely an order number or a count.
PHONE_CONTEXT_TEMPLATES = [
    "contact: {v}",
    "call me on {v}",
    "Tel.: {v}",
    "Telefon {v}, bitte zurückrufen",
    "téléphone : {v}",
    "mobile {v}",
    "Please phone {v} after 5pm",
    "\u8054\u7cfb {v} \u8c22\u8c22",
]


# The corpus's own templates that carry a phone word ("contact", 联系).
CONTEXT_TEMPLATE_INDICES = {1, 7}


def is_bare(v: str) -> bool:
    """A phone number written as digits alone (no +, no separators)."""
    return v.isdigit()


def measure(redact: Callable[[str], str]) -> tuple[dict[str, tuple[int, int, list[str]]], tuple[int, int, list[str]]]:
    """Per type: (found, total, misses); and for the negatives: (flagged, total, false hits).

    Phones are measured in two parts. `phone`: every number written with a `+`, a `00` and
    separators, or separators (in the corpus's templates), and every bare digit run set in a
    phone's context. `phone_bare_no_context`: bare digit runs in the templates without a phone
    word, which by the detection rules are not phones (found counts what was taken anyway)."""
    per_type = {}
    for kind, values in positives().items():
        found, misses = 0, []
        bare_found, bare_total, bare_taken = 0, 0, []
        for i, v in enumerate(values):
            text = embed(v, i)
            out = redact(text)
            hit = v not in out and EXPECT[kind] in out
            if kind == "phone" and is_bare(v) and i % len(TEMPLATES) not in CONTEXT_TEMPLATE_INDICES:
                # The same number in a phone's context must be found...
                ctx = PHONE_CONTEXT_TEMPLATES[i % len(PHONE_CONTEXT_TEMPLATES)].format(v=v)
                cout = redact(ctx)
                if v not in cout and EXPECT[kind] in cout:
                    found += 1
                else:
                    misses.append(f"{ctx!r} -> {cout!r}")
                # ...and is recorded apart where the corpus's template has no phone word.
                bare_total += 1
                if hit:
                    bare_found += 1
                    bare_taken.append(f"{text!r} -> {out!r}")
                continue
            if hit:
                found += 1
            else:
                misses.append(f"{text!r} -> {out!r}")
        per_type[kind] = (found, len(values), misses)
        if kind == "phone":
            per_type["phone_bare_no_context"] = (bare_found, bare_total, bare_taken)
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
    bare_found, bare_n, _ = per_type["phone_bare_no_context"]
    print(f"(bare digit runs in templates without a phone word: {bare_n} of {per_type['phone'][1]} phones, measured in a phone's context above)")
    print(f"\nPII-free texts flagged: {fp}/{total} = {fp / total:.2%}")
    for h in hits[:10]:
        print("  ", h)
    print("\n| identifier kind | changed | share | first change |")
    print("| --- | --- | --- | --- |")
    all_changed, all_total = fp, total
    for kind, (changed, n, firsts) in measure_identifiers(aiaudit.redact_text).items():
        all_changed += changed
        all_total += n
        print(f"| {kind} | {changed}/{n} | {changed / n:.3%} | {firsts[0] if firsts else ''} |")
    print(f"\nPII-free text overall: {all_changed}/{all_total} = {all_changed / all_total:.3%} changed")
