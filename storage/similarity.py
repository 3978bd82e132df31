"""Near-duplicate detection: MinHash signatures with LSH bands kept in the database.

Bands live in an indexed table, so finding candidates for a new article is one indexed query
however large the archive grows, and nothing has to be rebuilt in memory at start-up.

The signature is datasketch's "affine32" MinHash (seed 1, 64 permutations, crc32 of each 5-character
shingle), computed here with numpy in one pass: the values, the bands and the stored bytes are the
ones datasketch produced, so archives written before keep matching (tests/storage/test_similarity.py
holds values datasketch computed), without importing datasketch and scipy (half a second) or
building a MinHash object per article.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["NEAR_DUPLICATE", "Signature", "band_keys", "from_bytes", "signature", "similarity", "to_bytes"]

NUM_PERM = 64
SEED = 1
BANDS, ROWS = 16, 4  # candidate threshold ~ (1/16) ** (1/4) = 0.5 Jaccard
SHINGLE = 5
NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity of shingles from which two texts are one article
# Shingles handled per step: memory stays ~20 MB whatever the text's length (all at once, a 3-million-
# character article took 64 permutations x 3 M x 4 bytes, and 1 GB of peak memory, to store).
_CHUNK = 1 << 16
_SPACE = re.compile(r"\s+")
# datasketch's LeanMinHash layout, native alignment: seed, -number of values (the affine format's
# mark), scheme code 1, the values
_LAYOUT = struct.Struct(f"@qiB{NUM_PERM}I")
_AFFINE32 = 1

Signature = npt.NDArray[np.uint32]  # NUM_PERM minimum permuted hash values


@functools.cache
def _permutations() -> tuple[Signature, Signature]:
    """datasketch's affine32 parameters for this seed (odd multipliers: each map is a bijection), as
    columns: the permuted values are laid out one row per permutation, so that the minimum of each
    is taken over contiguous memory (ten times faster than over a column of shingles)."""
    generator = np.random.RandomState(SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a[:, None], b[:, None]


def _fmix32(values: Signature) -> Signature:
    """MurmurHash3's finaliser: spreads crc32's structured output before the affine maps."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


@functools.cache
def _crc_tables(length: int) -> tuple[np.uint32, npt.NDArray[np.uint32]]:
    """crc32 is affine over GF(2): for messages of ``length`` bytes, crc32(m) is crc32 of ``length``
    zero bytes XOR, for each position j, table[j][m[j]]. The tables turn the crc32 of every shingle of
    a text into a few array operations (the same values as zlib.crc32, one call per shingle)."""
    zero = zlib.crc32(bytes(length))
    table = np.empty((length, 256), dtype=np.uint32)
    message = bytearray(length)
    for position in range(length):
        for byte in range(256):
            message[position] = byte
            table[position, byte] = zlib.crc32(message) ^ zero
        message[position] = 0
    return np.uint32(zero), table


def shingle_hashes(text: str) -> Signature:
    """crc32 of the UTF-8 bytes of every 5-character shingle of ``text`` (whitespace removed)."""
    compact = _SPACE.sub("", text)
    data = compact.encode("utf-8")
    if len(compact) <= SHINGLE:
        return np.array([zlib.crc32(data)], dtype=np.uint32)
    points = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32)
    widths = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)  # UTF-8 bytes
    offsets = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    starts = offsets[:-SHINGLE]
    lengths = offsets[SHINGLE:] - starts
    raw = np.frombuffer(data, dtype=np.uint8)
    parts = []
    for length in np.unique(lengths).tolist():  # shingles of one byte length at a time
        zero, table = _crc_tables(length)
        chosen = starts[lengths == length]
        for first in range(0, len(chosen), _CHUNK):
            windows = raw[chosen[first : first + _CHUNK, None] + np.arange(length)]
            parts.append(np.bitwise_xor.reduce(table[np.arange(length), windows], axis=1) ^ zero)
    hashes: Signature = np.concatenate(parts)
    return hashes


def signature(text: str) -> Signature:
    """MinHash of the text's character 5-shingles (whitespace ignored)."""
    a, b = _permutations()
    mixed = _fmix32(shingle_hashes(text))
    minimum: Signature = np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)
    for first in range(0, len(mixed), _CHUNK):
        permuted = np.multiply(a, mixed[first : first + _CHUNK])  # uint32 arithmetic wraps modulo 2**32, as meant
        np.add(permuted, b, out=permuted)
        np.minimum(minimum, permuted.min(axis=1), out=minimum)
    return minimum


def band_keys(sig: Signature) -> list[str]:
    raw = sig.astype("=u4", copy=False).tobytes()
    width = ROWS * 4
    return [
        f"{band:02d}" + hashlib.sha1(raw[band * width : (band + 1) * width]).hexdigest()[:14] for band in range(BANDS)
    ]


def to_bytes(sig: Signature) -> bytes:
    return _LAYOUT.pack(SEED, -NUM_PERM, _AFFINE32, *sig.tolist())


def from_bytes(data: bytes) -> Signature:
    seed, negated, scheme, *values = _LAYOUT.unpack(data)
    if (seed, -negated, scheme) != (SEED, NUM_PERM, _AFFINE32):
        raise ValueError(f"not a procwatch signature (seed {seed}, {-negated} values, scheme {scheme})")
    return np.array(values, dtype=np.uint32)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minimum agrees."""
    return float(np.count_nonzero(a == b)) / NUM_PERM
