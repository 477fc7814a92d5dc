"""A small c2sp.org/tlog-tiles client written from the specifications alone, for testing that
any tlog client can read and verify an aiaudit log. It uses nothing of aiaudit: HTTP GETs,
hashlib and the ``cryptography`` package's Ed25519.

Specifications followed:
- c2sp.org/signed-note and c2sp.org/tlog-checkpoint (the note, its key id and signature);
- c2sp.org/tlog-tiles (tile paths, partial widths, entry bundles);
- RFC 6962 §2.1 (MTH, PATH, PROOF) and RFC 9162 §2.1.3.2 / §2.1.4.2 (proof verification).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

Fetch = Callable[[str], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def parse_verifier(vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """``<name>+<hex key id>+<base64(0x01 || key)>`` → (name, key id, key)."""
    name, key_id, b64 = vkey.split("+", 2)  # the base64 part may hold "+" itself
    raw = base64.b64decode(b64)
    assert raw[0] == 0x01 and len(raw) == 33, "an Ed25519 verifier key"
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert expected.hex() == key_id, "the key id is SHA-256(name || 0x0A || 0x01 || key)[:4]"
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    """Checks the note's signature by ``vkey`` and parses the checkpoint body."""
    name, key_id, key = parse_verifier(vkey)
    text, sep, sigs = note.rpartition("\n\n")
    assert sep, "a signed note has a blank line before its signatures"
    body = text + "\n"
    verified = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), f"a signature line starts with an em dash: {line!r}"
        sig_name, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64)
        if sig_name == name and sig[:4] == key_id:
            key.verify(sig[4:], body.encode())  # raises InvalidSignature
            verified = True
    assert verified, "no signature by the log's key"
    origin, size, root = body.splitlines()[:3]
    assert origin == name, "the checkpoint's origin is the key's name"
    return Checkpoint(origin, int(size), base64.b64decode(root), note)


def tile_index(n: int) -> str:
    parts = []
    while True:
        parts.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts.reverse()
    return "/".join([f"x{p:03d}" for p in parts[:-1]] + [f"{parts[-1]:03d}"])


def tile_path(level: int | str, n: int, width: int) -> str:
    path = f"tile/{level}/{tile_index(n)}"
    return path if width == 256 else f"{path}.p/{width}"


def width_at(level: int, n: int, size: int) -> int:
    return max(0, min(256, (size >> (8 * level)) - 256 * n))


class TileClient:
    """Reads one tree size of a tiled log through ``fetch(path) -> bytes``."""

    def __init__(self, fetch: Fetch, checkpoint: Checkpoint) -> None:
        self.fetch = fetch
        self.size = checkpoint.size
        self.root = checkpoint.root
        self.tiles: dict[tuple[int, int], list[bytes]] = {}
        self.fetched: list[str] = []

    def tile(self, level: int, n: int) -> list[bytes]:
        if (level, n) not in self.tiles:
            width = width_at(level, n, self.size)
            assert width > 0, f"the tree of {self.size} has no tile {level}/{n}"
            path = tile_path(level, n, width)
            data = self.fetch(path)
            self.fetched.append(path)
            assert len(data) == 32 * width, f"{path}: {len(data)} bytes, not {32 * width}"
            self.tiles[(level, n)] = [data[i:i + 32] for i in range(0, len(data), 32)]
        return self.tiles[(level, n)]

    def perfect(self, height: int, index: int) -> bytes:
        """The hash of the perfect subtree of 2**height leaves numbered ``index``."""
        level, rest = divmod(height, 8)
        span = 1 << rest  # hashes of the stored level that make it up
        first = index * span
        hashes = [self.tile(level, (first + i) // 256)[(first + i) % 256] for i in range(span)]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def mth(self, lo: int, hi: int) -> bytes:
        """RFC 6962 MTH(D[lo:hi])."""
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n & (n - 1) == 0 and lo % n == 0:
            return self.perfect(n.bit_length() - 1, lo // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def inclusion_path(self, m: int, lo: int = 0, hi: int | None = None) -> list[bytes]:
        """RFC 6962 PATH(m, D[lo:hi])."""
        hi = self.size if hi is None else hi
        n = hi - lo
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return self.inclusion_path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.inclusion_path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def consistency(self, m: int) -> list[bytes]:
        """RFC 6962 PROOF(m, D[0:size])."""

        def sub(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
            n = hi - lo
            if m == n:
                return [] if whole else [self.mth(lo, hi)]
            k = 1 << ((n - 1).bit_length() - 1)
            if m <= k:
                return sub(m, lo, lo + k, whole) + [self.mth(lo + k, hi)]
            return sub(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

        return sub(m, 0, self.size, True)

    def entries(self, n: int) -> list[bytes]:
        """Entry bundle ``n``: each entry checked against the level-0 tile."""
        width = width_at(0, n, self.size)
        data = self.fetch(tile_path("entries", n, width))
        out, at = [], 0
        while at < len(data):
            length = int.from_bytes(data[at:at + 2], "big")
            out.append(data[at + 2:at + 2 + length])
            at += 2 + length
        assert at == len(data) and len(out) == width, "a bundle of the tile's width"
        for i, entry in enumerate(out):
            assert leaf_hash(entry) == self.tile(0, n)[i], f"entry {256 * n + i} hashes to its leaf"
        return out


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    assert index < size
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    assert sn == 0, "proof too short"
    assert r == root, "the inclusion proof leads to another root"


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       proof: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2."""
    assert 0 < size1 <= size2
    if size1 == size2:
        assert not proof and root1 == root2
        return
    if size1 & (size1 - 1) == 0:
        proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    assert sn == 0, "proof too short"
    assert fr == root1, "the consistency proof does not lead to the old root"
    assert sr == root2, "the consistency proof does not lead to the new root"
