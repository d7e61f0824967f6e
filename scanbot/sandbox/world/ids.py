"""Deterministic hashing, and the 24-hex ids the sandbox hands out and reads back.

Every id encodes the position it names (a scan's creation order, a risk's place in its
scan, ...), so nothing is stored to look it up; a tag derived from the seed makes forged
or foreign ids decode to nothing.
"""

from __future__ import annotations

M64 = (1 << 64) - 1
_ODD = 0x9E37_79B9_7F4A_7C15
_ODD_INVERSE = pow(_ODD, -1, 1 << 64)
_HEX = frozenset("0123456789abcdef")

# What an id names: each kind has its own scrambling, so a scan id is never a risk id.
SCAN_ID, RISK_ID, RESULT_ID, TARGET_ID = 1, 2, 3, 4
OLD_RISK_ID, REPORT_ID = 5, 6  # a risk of the backlog (found before any listed scan); a report
KINDS = (SCAN_ID, RISK_ID, RESULT_ID, TARGET_ID, OLD_RISK_ID, REPORT_ID)
# Salts that keep the hash streams for different attributes independent.
POPULATION, ARRIVALS, POSTS, SKIP, RISK, CARRY, POOL = range(10, 17)
BACKLOG = 17


def mix(*parts: int) -> int:
    """A 64-bit hash of some integers (splitmix64 steps): cheap, stable across runs."""
    h = 0x2545_F491_4F6C_DD1D
    for part in parts:
        h = ((h ^ (part & M64)) * 0xBF58_476D_1CE4_E5B9) & M64
        h ^= h >> 29
        h = (h * 0x94D0_49BB_1331_11EB) & M64
        h ^= h >> 32
    return h


class IdCodec:
    """Encodes a kind and a number as a 24-hex id, like the service's, and back."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._masks = {kind: mix(seed, kind, 0x1D) for kind in KINDS}

    def encode(self, kind: int, value: int) -> str:
        """A 24-hex id that decodes back to `value`."""
        scrambled = ((value * _ODD) & M64) ^ self._masks[kind]
        tag = mix(self.seed, kind, value) & 0xFFFF_FFFF
        return f"{tag:08x}{scrambled:016x}"

    def decode(self, kind: int, text: str) -> int | None:
        """The number behind an id of this kind; None for anything this codec did not make."""
        if len(text) != 24 or not set(text) <= _HEX:
            return None
        value = ((int(text[8:], 16) ^ self._masks[kind]) * _ODD_INVERSE) & M64
        return value if self.encode(kind, value) == text else None
