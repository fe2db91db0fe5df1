"""Deterministic randomness: every synthetic value is a pure function of the seed and its coordinates.

Nothing here depends on PYTHONHASHSEED or on the order of calls, so the same seed gives the same
organization in every process (blake2b for hashes, `random.Random(str)` which seeds through SHA-512).
"""

from __future__ import annotations

import hashlib
import random

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def stable_hash(*parts: object) -> int:
    """A 64-bit integer from the parts' text."""
    text = "/".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng(*parts: object) -> random.Random:
    """A generator seeded from the parts' text."""
    return random.Random("/".join(str(p) for p in parts))


def token(length: int, *parts: object) -> str:
    """`length` base62 characters derived from the parts (for ids such as `key_...`)."""
    text = "/".join(str(p) for p in parts).encode()
    number = int.from_bytes(hashlib.blake2b(text, digest_size=32).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def quick_rng(*parts: object) -> random.Random:
    """A generator seeded from a 64-bit hash of the parts: cheaper to seed than `rng` (no SHA-512 of
    a long string), for the many small per-stream draws."""
    return random.Random(stable_hash(*parts))
