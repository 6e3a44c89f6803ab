"""The benchmark documents: ``rjson.loads`` gives exactly ``json.loads``'s value for each,
as bytes and as str, and ``loads(dumps(x))`` round-trips them (through both libraries)."""

import json

import pytest

import rjson
from test_loads_support import CORPORA, assert_same_value, corpus

AVAILABLE = [name for name in CORPORA if corpus(name) is not None]


def test_corpora_are_there():
    assert len(AVAILABLE) >= 10


@pytest.mark.parametrize("name", AVAILABLE)
def test_corpus_like_json(name):
    data = corpus(name)
    expected = json.loads(data)
    assert_same_value(rjson.loads(data), expected)
    assert_same_value(rjson.loads(data.decode("utf-8")), expected)
    # Again, now that the key cache holds this document's keys.
    assert_same_value(rjson.loads(data), expected)


@pytest.mark.parametrize("name", AVAILABLE)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_corpus_round_trips(name, ensure_ascii):
    value = json.loads(corpus(name))
    for dumps in (json.dumps, rjson.dumps):
        text = dumps(value, ensure_ascii=ensure_ascii)
        assert_same_value(rjson.loads(text), value)
        assert_same_value(rjson.loads(text.encode("utf-8")), value)
    assert_same_value(rjson.loads(rjson.dumps_bytes(value)), value)
    indented = json.dumps(value, indent=2, ensure_ascii=ensure_ascii)
    assert_same_value(rjson.loads(indented), value)
