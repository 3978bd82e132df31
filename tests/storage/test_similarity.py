"""Signatures keep the values stored archives were written with (datasketch's affine32 MinHash)."""

from __future__ import annotations

import tracemalloc

from storage.similarity import NEAR_DUPLICATE, band_keys, from_bytes, signature, similarity, to_bytes

TEXT = "最高人民检察院召开党组会，传达学习全国两会精神。深入开展“检察护企”专项行动。2024年3月"
# Computed by datasketch 2.0 (MinHash(num_perm=64, seed=1, hashfunc=zlib.crc32, scheme="affine32"),
# LeanMinHash.serialize), the code that wrote every signature stored before this module replaced it.
STORED = bytes.fromhex(
    "0100000000000000c0ffffff01000000739db80028f97b0110210603d248f602ea3c86040b6cb602ae436309362b3c09"
    "f3c62304dc4d7b0b0bbd5a11c431b00106307607c6a96906f131d60103fb3301a9d0f10022acfa000d506901ff9b1f00"
    "d0a69c07a38c360aec9f130008e4430888e20306a10a3e036cfb5a03cd874e0340c62e02fd284602e95bbd03287b1908"
    "96637a08701ad8100a792702c66e6905c394d81010d0410069116606f8f13e029c92270107f2ad02c90a6008656fe202"
    "b6332303a69cc408414b9a02fe788b0c101f88084b4d9b0c6c49230722e63403cf97e301e0633804c6a6d30087e28900"
    "37c4a5004f64fb029d989a051eb5cf09abee6f005eab99030aac4203fdd26811"
)


def test_the_signature_and_its_bands_are_the_ones_stored_archives_hold() -> None:
    sig = signature(TEXT)
    assert to_bytes(sig) == STORED
    assert list(from_bytes(STORED)) == list(sig)
    assert band_keys(sig)[:3] == ["009c7e47e09869b6", "01badb86816e0f25", "022b9e1cf3f74c07"]


def test_whitespace_is_ignored_and_an_edit_keeps_the_texts_near() -> None:
    assert list(signature(" ".join(TEXT))) == list(signature(TEXT))
    edited = TEXT.replace("党组会", "党组（扩大）会议")
    assert similarity(signature(TEXT), signature(edited)) == 0.8125  # datasketch's estimate, to the bit
    assert similarity(signature(TEXT), signature("典型案例涉及危险作业罪。" * 5)) < NEAR_DUPLICATE


def test_short_texts_and_characters_outside_the_basic_plane() -> None:
    for text in ("", "短", "abcde", "𠀀𠀀𠀀𠀀𠀀𠀀", "a短b𠀀c 1"):
        assert len(signature(text)) == 64
    assert similarity(signature("𠀀𠀀𠀀𠀀𠀀𠀀"), signature("𠀀𠀀𠀀𠀀𠀀𠀀")) == 1.0


def test_a_long_text_is_signed_in_bounded_memory() -> None:
    # 3 million characters of one paragraph, as a 10 MB single-line page gives: the signature was
    # computed over all shingles at once (64 x 3 M x 4 bytes, 1.6 GB of peak memory)
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3_000_000))
    tracemalloc.start()
    try:
        long_signature = signature(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 250 * 1024 * 1024, f"{peak / 2**20:.0f} MB"  # the text's shingles, not 64 copies of them
    assert similarity(long_signature, signature(text[:2_900_000])) > 0.9  # the same values, chunked or not
