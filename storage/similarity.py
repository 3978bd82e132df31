"""Near-duplicate detection: MinHash signatures (datasketch) with LSH bands kept in the database.

Bands live in an indexed table, so finding candidates for a new article is one indexed query
however large the archive grows, and nothing has to be rebuilt in memory at start-up.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # datasketch pulls in scipy (half a second): imported on first use, not at start-up
    from datasketch import LeanMinHash

__all__ = ["NEAR_DUPLICATE", "band_keys", "from_bytes", "signature", "similarity", "to_bytes"]

NUM_PERM = 64
BANDS, ROWS = 16, 4  # candidate threshold ~ (1/16) ** (1/4) = 0.5 Jaccard
SHINGLE = 5
NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity of shingles from which two texts are one article
_SPACE = re.compile(r"\s+")


@functools.cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=1).permutations  # generated once, not per document


def signature(text: str) -> LeanMinHash:
    """MinHash of the text's character 5-shingles (whitespace ignored)."""
    compact = _SPACE.sub("", text)
    shingles = {compact[i : i + SHINGLE].encode("utf-8") for i in range(max(1, len(compact) - SHINGLE + 1))}
    # crc32 is stable across processes (unlike hash()) and far cheaper than datasketch's sha1 default.
    from datasketch import LeanMinHash, MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32, permutations=_permutations(), scheme="affine32")
    minhash.update_batch(list(shingles))
    return LeanMinHash(minhash)


def band_keys(sig: LeanMinHash) -> list[str]:
    values = sig.hashvalues
    return [
        f"{band:02d}" + hashlib.sha1(values[band * ROWS : (band + 1) * ROWS].tobytes()).hexdigest()[:14]
        for band in range(BANDS)
    ]


def to_bytes(sig: LeanMinHash) -> bytes:
    buffer = bytearray(sig.bytesize())
    sig.serialize(buffer)
    return bytes(buffer)


def from_bytes(data: bytes) -> LeanMinHash:
    from datasketch import LeanMinHash

    return LeanMinHash.deserialize(data)


def similarity(a: LeanMinHash, b: LeanMinHash) -> float:
    return float(a.jaccard(b))
