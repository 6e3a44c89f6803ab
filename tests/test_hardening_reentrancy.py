"""Re-entrancy: Python code that runs in the middle of a call (``default=``, the loads
hooks, overridden methods of subclasses, ``__del__`` finalizers, garbage-collector
callbacks) and attacks what the call is working on. Each scenario must end as it ends
with ``json`` (same result, or same exception type and message), and never crash.

What tests/test_dumps_safety.py already covers (``default=`` appending to, popping from,
clearing and freeing the list or dict being written; ``__iter__``/``items()`` overrides
that clear their parent) is not repeated here. Added: finalizers and collector callbacks
that mutate the containers being written, keys and values whose ``__hash__``, ``__eq__``,
``__lt__``, ``__repr__``, ``__len__`` ... raise, ``BaseException`` from callbacks, hooks
that mutate the dicts and pair lists they are given or keep them, hooks that re-enter
``loads``/``dumps`` or run the collector over half-built containers, and input buffers
resized by a hook.

All of it first runs in a fresh interpreter (a crash there fails one test, not the run),
then each scenario is compared with ``json`` in-process.
"""

import gc
import json
import sys
import textwrap

import pytest

import rjson
from conftest import Raised, assert_clean_exit, json_dumps_bytes, outcome, run_python
from test_loads_support import assert_same_value, error_signature

# ----- dumps scenarios: build() -> (obj, kwargs), fresh objects each time -----


class Marker:
    pass


class Stop(BaseException):
    """Not an Exception: must pass through every except clause unchanged."""


def _finalizer_clears_outer_dict():
    outer = {}

    class Bomb:
        def __del__(self):
            outer.clear()

    def default(o):
        # the Bomb lives only in the list handed back: it goes off when the encoder lets
        # go of the list, after writing it, in the middle of the dict
        return "bomb" if isinstance(o, Bomb) else [Bomb(), "x" * 30]

    outer.update(a=Marker(), b=[1, 2, "y" * 40], c={"d": "z" * 50}, e=3)
    return outer, {"default": default}


def _finalizer_clears_outer_list():
    outer = []

    class Bomb:
        def __del__(self):
            del outer[:]

    def default(o):
        return "bomb" if isinstance(o, Bomb) else {"bomb": Bomb()}

    outer.extend([Marker(), ["nested" * 10], "tail" * 20, {"k": [1, 2]}])
    return outer, {"default": default}


def _finalizer_frees_sibling_values():
    holder = {}

    class Bomb:
        def __del__(self):
            for key in list(holder):
                holder[key] = None

    def default(o):
        return "bomb" if isinstance(o, Bomb) else [Bomb()]

    holder.update(first=Marker(), second=["big" * 100], third={"deep": ["deeper" * 20]})
    return [holder, holder], {"default": default}


def _gc_callback_clears_containers():
    outer = {"items": []}
    items = outer["items"]

    def callback(phase, info):
        if phase == "start":
            items.clear()
            outer.pop("extra", None)
            gc.callbacks.remove(callback)

    def default(o):
        # allocate enough container objects to start a collection
        gc.callbacks.append(callback)
        junk = [[i] for i in range(3000)]
        del junk
        gc.collect()
        return "m"

    items.extend([Marker(), "after" * 30, [1, [2, [3]]], {"x": "y" * 40}])
    outer["extra"] = ["e" * 64]
    return outer, {"default": default}


class HashRaises(str):
    armed = False

    def __hash__(self):
        if HashRaises.armed:
            raise ZeroDivisionError("hash")
        return str.__hash__(self)

    def __eq__(self, other):
        if HashRaises.armed:
            raise ZeroDivisionError("eq")
        return str.__eq__(self, other)


def _keys_with_raising_hash_and_eq():
    HashRaises.armed = False
    d = {HashRaises("b"): 1, HashRaises("a"): [2], "c": HashRaises("value")}
    HashRaises.armed = True
    return d, {}


class LtRaises(str):
    __hash__ = str.__hash__

    def __lt__(self, other):
        raise ArithmeticError("no order")

    __gt__ = __lt__


def _keys_with_raising_lt():
    return {LtRaises("b"): 1, LtRaises("a"): 2}, {"sort_keys": True}


class MutatingLt(str):
    """Comparing keys for sort_keys mutates the dict and the values being written."""

    __hash__ = str.__hash__
    target = None

    def __lt__(self, other):
        d, values = MutatingLt.target
        values.clear()
        d["new"] = "added during sort"
        d.pop(MutatingLt("a"), None)
        return str.__lt__(self, other)


def _keys_whose_compare_mutates():
    values = ["v" * 40, ["w"], {"x": 1}]
    d = {MutatingLt("b"): values, MutatingLt("a"): ["a" * 30], MutatingLt("values"): values}
    MutatingLt.target = (d, values)
    return d, {"sort_keys": True}


class OddInt(int):
    def __repr__(self):
        raise RuntimeError("repr")

    __str__ = __repr__

    def __index__(self):
        raise RuntimeError("index")

    def __int__(self):
        raise RuntimeError("int")

    def __hash__(self):
        raise RuntimeError("hash")

    def __eq__(self, other):
        raise RuntimeError("eq")


class OddFloat(float):
    def __repr__(self):
        raise RuntimeError("repr")

    __str__ = __repr__

    def __float__(self):
        raise RuntimeError("float")

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __ne__(self, other):
        raise RuntimeError("ne")

    __hash__ = float.__hash__


class OddStr(str):
    def __str__(self):
        raise RuntimeError("str")

    __repr__ = __str__

    def __len__(self):
        raise RuntimeError("len")

    def __iter__(self):
        raise RuntimeError("iter")

    def __getitem__(self, i):
        raise RuntimeError("getitem")

    def encode(self, *a, **k):
        raise RuntimeError("encode")

    __hash__ = str.__hash__


def _values_with_raising_methods():
    return [OddInt(7), OddFloat(2.5), OddStr("text\xe9"), OddFloat("nan"), OddInt(-(2**70))], {}


def _keys_with_raising_methods():
    d = {}
    dict.__setitem__(d, OddStr("s\u4e2d"), OddInt(1))
    d[1.5] = OddFloat(1.0)
    return d, {}


class ItemsRaises(dict):
    def items(self):
        raise LookupError("items")


class ItemsMutates(dict):
    def items(self):
        pairs = list(dict.items(self))
        self["added"] = "late"
        self.pop("a", None)
        return pairs


class LenRaises(list):
    def __len__(self):
        raise LookupError("len")


class GetitemRaises(tuple):
    def __getitem__(self, i):
        raise LookupError("getitem")


SUBCLASS_SCENARIOS = {
    "dict-items-raises": lambda: ({"k": ItemsRaises(a=1)}, {}),
    "dict-items-mutates": lambda: ([ItemsMutates(a=1, b=[2])], {}),
    "list-len-raises": lambda: ({"k": LenRaises([1, "two", [3]])}, {}),
    "tuple-getitem-raises": lambda: ([GetitemRaises((1, "b"))], {}),
}


def _default_raises_base_exception():
    def default(o):
        raise Stop("from default")

    return {"a": [1, {"b": Marker()}], "c": "d"}, {"default": default}


def _default_returns_iterators():
    def default(o):
        return iter([1, 2]) if isinstance(o, Marker) else {1: 2}.items()

    return [Marker(), 1], {"default": default}


def _default_returns_object_then_drops_it():
    seen = []

    def default(o):
        seen.append(o)
        fresh = {"fresh": ["list" * 20, {"deeper": Marker() if len(seen) < 5 else None}]}
        return fresh

    return [Marker(), "between", Marker()], {"default": default}


def _default_reenters_dumps_and_loads():
    def default(o):
        inner = rjson.dumps({"inner": [1, 2.5, "\xe9"]}, indent=1)
        parsed = rjson.loads(inner.encode())
        return [inner, parsed, rjson.dumps_bytes(parsed).decode()]

    return {"a": Marker(), "b": [Marker(), {"c": Marker()}]}, {"default": default}


DUMPS_SCENARIOS = {
    "finalizer-clears-outer-dict": _finalizer_clears_outer_dict,
    "finalizer-clears-outer-list": _finalizer_clears_outer_list,
    "finalizer-frees-sibling-values": _finalizer_frees_sibling_values,
    "gc-callback-clears-containers": _gc_callback_clears_containers,
    "keys-raising-hash-and-eq": _keys_with_raising_hash_and_eq,
    "keys-raising-lt": _keys_with_raising_lt,
    "keys-compare-mutates": _keys_whose_compare_mutates,
    "values-raising-methods": _values_with_raising_methods,
    "keys-raising-methods": _keys_with_raising_methods,
    "default-raises-base-exception": _default_raises_base_exception,
    "default-returns-iterators": _default_returns_iterators,
    "default-returns-fresh-objects": _default_returns_object_then_drops_it,
    "default-reenters": _default_reenters_dumps_and_loads,
    **SUBCLASS_SCENARIOS,
}

LAYOUTS = [{}, {"indent": 2}, {"sort_keys": True}, {"ensure_ascii": False, "separators": (",", ":")}]


def _outcome(fn, *args, **kwargs):
    """As conftest.outcome, also for BaseException (the Stop scenarios)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return Raised(exc)
    except Stop as exc:
        return Raised(exc)


#: json's pure-Python encoder, which calls methods the C encoder (and rjson) does not:
#: what it uses for ``indent`` before Python 3.13.
PY_ENCODER_FOR_INDENT = sys.version_info < (3, 13)
PY_ENCODER_XFAILS = {
    "values-raising-methods": "tests 'o != o' (NaN check) through the float subclass's __ne__, which raises; "
    "the C encoder and rjson read the double",
    "keys-raising-methods": "tests 'o != o' on the float subclass value through its raising __ne__",
    "list-len-raises": "tests 'if not lst' through the list subclass's raising __len__; the C encoder and "
    "rjson read the list's size",
}


def _dumps_params():
    for name in DUMPS_SCENARIOS:
        for layout in LAYOUTS:
            marks = []
            if "indent" in layout and name in PY_ENCODER_XFAILS and PY_ENCODER_FOR_INDENT:
                reason = "json's pure-Python encoder (indent, Python < 3.13) " + PY_ENCODER_XFAILS[name]
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            if name == "default-returns-iterators" and "indent" in layout and sys.version_info < (3, 11):
                marks.append(pytest.mark.xfail(strict=True, reason=(
                    "a default= that never returns a JSON value recurses until RecursionError; "
                    "json's pure-Python encoder on 3.9/3.10 hits the limit inside isinstance(), "
                    "so its message names __instancecheck__ where rjson's names the call")))
            yield pytest.param(name, layout, marks=marks, id="%s-%r" % (name, layout))


@pytest.mark.parametrize("name,layout", list(_dumps_params()))
def test_dumps_scenario_like_json(name, layout):
    build = DUMPS_SCENARIOS[name]
    for api, reference in ((rjson.dumps, json.dumps), (rjson.dumps_bytes, json_dumps_bytes)):
        obj, kw = build()
        expected = _outcome(reference, obj, **dict(kw, **layout))
        obj, kw = build()
        actual = _outcome(api, obj, **dict(kw, **layout))
        assert actual == expected if isinstance(expected, Raised) else (type(actual), actual) == (type(expected), expected), (
            "%s %s differs\n  rjson: %r\n  json:  %r" % (api.__name__, layout, actual, expected)
        )
    gc.collect()


# ----- loads scenarios: (document, kwargs factory) -----

RECORDS = '[{"id": 1, "name": "a", "tags": ["x", "y"]}, {"id": 2, "name": "b", "tags": []}, {"id": 3, "name": "c", "tags": ["z"]}]'


def _hook_clears_dict():
    def hook(d):
        d.clear()
        d["cleared"] = True
        return d

    return {"object_hook": hook}


def _hook_returns_one_shared_dict():
    shared = {}

    def hook(d):
        shared.update(d)
        return shared

    return {"object_hook": hook}


def _pairs_hook_mutates_pairs():
    def hook(pairs):
        pairs.append(("added", len(pairs)))
        pairs.reverse()
        del pairs[1:2]
        return pairs

    return {"object_pairs_hook": hook}


def _pairs_hook_keeps_and_mutates_earlier():
    kept = []

    def hook(pairs):
        for earlier in kept:
            earlier.clear()
        kept.append(pairs)
        return dict(pairs)

    return {"object_pairs_hook": hook}


def _parse_int_shared_mutable():
    shared = []

    def parse_int(text):
        shared.append(text)
        return shared

    return {"parse_int": parse_int}


def _hooks_reenter():
    def parse_int(text):
        return rjson.loads(RECORDS)[0]["id"] + int(text)

    def parse_constant(name):
        return rjson.dumps({"c": name})

    def object_hook(d):
        return rjson.loads(rjson.dumps_bytes(d))

    return {"parse_int": parse_int, "parse_constant": parse_constant, "object_hook": object_hook}


def _hook_collects_half_built_containers():
    def hook(d):
        # a collection, then a look at every slot of every list and dict the collector
        # knows (shallow: repr() of other code's containers could be gigantic): a
        # half-built container with an unset slot would crash here
        gc.collect()
        for o in gc.get_objects():
            if type(o) is list:
                for item in o:
                    type(item)
            elif type(o) is dict:
                for key, value in o.items():
                    type(key), type(value)
        return d

    return {"object_hook": hook}


def _hook_raises_base_exception():
    def hook(d):
        if "name" in d and d["name"] == "b":
            raise Stop("from object_hook")
        return d

    return {"object_hook": hook}


def _parse_float_raises_base_exception():
    def parse_float(text):
        raise Stop(text)

    return {"parse_float": parse_float}


LOADS_SCENARIOS = {
    "object-hook-clears-dict": (RECORDS, _hook_clears_dict),
    "object-hook-shared-dict": (RECORDS, _hook_returns_one_shared_dict),
    "pairs-hook-mutates-pairs": (RECORDS, _pairs_hook_mutates_pairs),
    "pairs-hook-mutates-earlier": (RECORDS, _pairs_hook_keeps_and_mutates_earlier),
    "parse-int-shared-mutable": ('[1, [2, {"k": 3}], 4]', _parse_int_shared_mutable),
    "hooks-reenter": ('[1, NaN, {"a": {"b": -Infinity}}, 7]', _hooks_reenter),
    "hook-collects-half-built": ('[[1, 2, [3]], {"a": [{"b": {"c": [4, {}]}}]}, ' + RECORDS + "]", _hook_collects_half_built_containers),
    "hook-raises-base-exception": (RECORDS, _hook_raises_base_exception),
    "parse-float-raises-base-exception": ("[1, 2.5]", _parse_float_raises_base_exception),
}


def _loads_outcome(loads, doc, kw):
    try:
        return ("ok", loads(doc, **kw))
    except (Exception, Stop) as exc:  # noqa: BLE001
        return ("error", exc)


@pytest.mark.parametrize("form", ["str", "bytes", "bytearray"])
@pytest.mark.parametrize("name", list(LOADS_SCENARIOS))
def test_loads_scenario_like_json(name, form):
    doc, make_kw = LOADS_SCENARIOS[name]
    data = {"str": doc, "bytes": doc.encode(), "bytearray": bytearray(doc.encode())}[form]
    expected = _loads_outcome(json.loads, data, make_kw())
    actual = _loads_outcome(rjson.loads, data, make_kw())
    assert actual[0] == expected[0], (actual, expected)
    if expected[0] == "ok":
        assert_same_value(actual[1], expected[1])
    else:
        assert error_signature(actual[1]) == error_signature(expected[1])
    # and the parser (its caches, lent to the call that failed) still works
    assert_same_value(rjson.loads(RECORDS), json.loads(RECORDS))


def test_results_never_share_state_with_later_calls():
    """Dicts built from a learnt shape template, and the lists in them, belong to their
    caller: mutating them changes nothing that a later call returns."""
    doc = '[{"id": 1, "name": "a", "tags": ["x"]}, {"id": 1, "name": "a", "tags": ["x"]}]'
    expected = json.loads(doc)
    kept = []
    for round_ in range(6):
        for form in (doc, doc.encode()):
            result = rjson.loads(form)
            assert_same_value(result, expected)
            kept.append(result)
            for d in result:
                d["id"] = round_
                d["extra"] = "mutated"
                d["tags"].append("more")
                d.pop("name")
    assert all(len(d) == 3 for r in kept for d in r)


def test_hook_resizing_the_bytearray_being_parsed():
    """The bytearray is read before any hook runs: a hook that resizes or clears it does
    not change the result, and is allowed to (json decodes it first, too)."""
    base = RECORDS.encode()
    for mutation in ("extend", "clear", "shrink"):
        results = []
        for loads in (json.loads, rjson.loads):
            ba = bytearray(base)

            def hook(d, ba=ba):
                if mutation == "extend":
                    ba.extend(b" " * 100_000)
                elif mutation == "clear":
                    ba.clear()
                else:
                    del ba[len(ba) // 2:]
                return d

            results.append((loads(ba, object_hook=hook), len(ba)))
        assert_same_value(results[1][0], results[0][0])
        assert results[1][1] == results[0][1]


def test_hook_resizing_a_bytearray_behind_a_memoryview():
    """A memoryview is read as ``bytes(view)``; the caller's view keeps its bytearray from
    being resized, so the hook's resize fails the same way as with json on the bytes."""
    base = bytearray(RECORDS.encode())
    view = memoryview(base)

    def hook(d):
        base.extend(b"x")
        return d

    expected = _loads_outcome(json.loads, bytes(view), {"object_hook": hook})
    actual = _loads_outcome(rjson.loads, view, {"object_hook": hook})
    assert actual[0] == expected[0] == "error"
    assert error_signature(actual[1]) == error_signature(expected[1])
    view.release()
    base.extend(b"   ")
    assert_same_value(rjson.loads(memoryview(base)), json.loads(bytes(base)))


# ----- all of it in a fresh interpreter first -----


def test_every_scenario_survives_in_a_fresh_interpreter():
    """Run every scenario above twice (a corrupted heap tends to show on the second run)
    with rjson alone in a new interpreter: a crash fails here, naming the scenario."""
    code = textwrap.dedent(
        """
        import gc, sys
        sys.path.insert(0, ".")
        import rjson
        import test_hardening_reentrancy as t

        for name, build in t.DUMPS_SCENARIOS.items():
            for layout in t.LAYOUTS:
                for api in (rjson.dumps, rjson.dumps_bytes):
                    print("start", name, layout, api.__name__, flush=True)
                    for _ in range(2):
                        obj, kw = build()
                        t._outcome(api, obj, **dict(kw, **layout))
                        gc.collect()
        for name, (doc, make_kw) in t.LOADS_SCENARIOS.items():
            for data in (doc, doc.encode(), bytearray(doc.encode())):
                print("start", name, type(data).__name__, flush=True)
                for _ in range(2):
                    t._loads_outcome(rjson.loads, data, make_kw())
                    gc.collect()
        t.test_results_never_share_state_with_later_calls()
        t.test_hook_resizing_the_bytearray_being_parsed()
        print("ok all scenarios", flush=True)
        """
    )
    proc = run_python(code, timeout=300)
    last = [line for line in proc.stdout.splitlines() if line.startswith("start")][-1:]
    assert proc.returncode == 0, "crashed (return code %d) in %s\n%s" % (proc.returncode, last, proc.stderr[-3000:])
    assert "ok all scenarios" in proc.stdout
