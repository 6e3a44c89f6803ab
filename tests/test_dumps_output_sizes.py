"""Results of changing sizes, one call after another.

A large result teaches the thread its size, and the next `bytes` or ASCII `str` result is
written straight into an object of that capacity (see src/encode/buffer.rs). These tests
walk every transition: no capacity yet, a result that fits, one that outgrows the object
(it moves to the scratch buffer), one far smaller (the object is shrunk), and calls that
fail or re-enter `dumps` while an object is being written.
"""

import gc
import json
import tracemalloc

import pytest

import rjson

# Output sizes in bytes: below the in-place threshold (16 KiB), around it, far above, and
# swings between them in both directions.
SIZES = [100, 20_000, 20_000, 21_000, 19_000, 300_000, 290_000, 310_000, 9_000, 2_000_000,
         40_000, 2_000_000, 1_990_000, 17_000, 16_500, 16_000, 70_000, 5, 600_000]


def document(size, seed):
    """A JSON-able object whose compact dump is about `size` bytes, with non-ASCII text
    (escaped by `ensure_ascii`) so that `dumps` and `dumps_bytes` differ."""
    chunk = ["caf\xe9 %d" % seed, seed, 1.5, {"k\u4e2d": None}]
    per_chunk = len(json.dumps(chunk, separators=(",", ":"))) + 1
    return [chunk] * max(1, size // per_chunk)


CALLS = {
    "dumps_bytes": (rjson.dumps_bytes,
                    lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode()),
    "dumps": (rjson.dumps, json.dumps),
}


@pytest.mark.parametrize("name", CALLS)
def test_results_of_changing_sizes_equal_json(name):
    ours, theirs = CALLS[name]
    for seed, size in enumerate(SIZES):
        obj = document(size, seed)
        result = ours(obj)
        expected = theirs(obj)
        assert type(result) is type(expected)
        assert len(result) == len(expected)
        assert result == expected
        # the object is complete: hashing, slicing and copying see exactly its length
        assert hash(result) == hash(expected)
        assert result[-3:] == expected[-3:]
        assert result + result[:1] == expected + expected[:1]
        if isinstance(result, str):
            assert result.isascii()
            assert result.encode() == expected.encode()


@pytest.mark.parametrize("name", CALLS)
def test_failing_call_after_a_large_result(name):
    ours, theirs = CALLS[name]
    big = document(500_000, 1)
    assert ours(big) == theirs(big)
    # the next call writes in place, then fails half way: the object is dropped
    for bad in ([big, object()], [big, float("nan")]):
        with pytest.raises((TypeError, ValueError)):
            ours(bad, allow_nan=False)
    assert ours(big) == theirs(big)


@pytest.mark.parametrize("name", CALLS)
def test_reentrant_call_while_writing_in_place(name):
    ours, theirs = CALLS[name]
    big = document(400_000, 2)
    small = document(100, 3)
    ours(big)
    # `default` dumps a large and a small document from inside the outer call, each of
    # which updates the thread's capacity while the outer result is being written
    results = []

    def default(o):
        results.append(ours(big))
        results.append(ours(small))
        return "marker"

    got = ours([big, object(), big], default=default)
    assert got == theirs([big, "marker", big])
    assert results == [theirs(big), theirs(small)]


def test_in_place_results_do_not_leak():
    docs = [document(size, seed) for seed, size in enumerate(SIZES[:12])]

    def run():
        for doc in docs:
            rjson.dumps_bytes(doc)
            rjson.dumps(doc)
        try:
            rjson.dumps([docs[9], object()])
        except TypeError:
            pass

    run()
    gc.collect()
    tracemalloc.start()
    try:
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(20):
            run()
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 64 * 1024, "traced memory grew by %d bytes" % (second - first)


@pytest.mark.parametrize("name", CALLS)
def test_small_result_after_a_large_one_holds_no_spare_memory(name):
    ours, _ = CALLS[name]
    big, small = document(2_000_000, 4), document(30_000, 5)
    ours(big)  # the next call starts in an object of about 2.25 MB
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        result = ours(small)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held - before < 2 * len(result) + 4096, (held - before, len(result))


def long_strings(seed):
    """Long strings of every storage kind, with escapes spread through them, so that the
    pieces a long string is escaped in (as much as the output has room for) split them at
    many kinds of unit."""
    import random

    rng = random.Random(seed)
    alphabets = {
        "ascii": 'abc "\\\n\x00\x1f\x7f xyz',
        "latin1": "abc\xe9\xff \"\\\n\x01",
        "ucs2": "ab\u4e2d\u0800\uffff\xe9\"\n\x02",
        "ucs4": "a\U0001f600\U0010ffff\u4e2d\xe9\\\t",
    }
    for kind, alphabet in alphabets.items():
        for length in (17_000, 70_001, 300_007):
            yield kind, "".join(rng.choices(alphabet, k=length))


@pytest.mark.parametrize("name", CALLS)
def test_long_strings_after_results_of_other_sizes(name):
    ours, theirs = CALLS[name]
    for i, (kind, text) in enumerate(long_strings(7)):
        before = document(SIZES[i % len(SIZES)], i)
        assert ours(before) == theirs(before)
        for obj in (text, [text], {"k": text, "v": [1, text[: len(text) // 3]]}):
            assert ours(obj) == theirs(obj), kind


def test_long_string_with_a_lone_surrogate():
    text = "a\u4e2d" * 50_000 + "\ud800" + "b" * 10
    rjson.dumps_bytes(document(2_000_000, 8))
    with pytest.raises(UnicodeEncodeError) as ours:
        rjson.dumps_bytes([text])
    with pytest.raises(UnicodeEncodeError) as theirs:
        json.dumps([text], ensure_ascii=False).encode()
    assert str(ours.value) == str(theirs.value)
    assert rjson.dumps([text]) == json.dumps([text])
