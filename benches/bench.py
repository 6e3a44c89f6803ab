#!/usr/bin/env python3
"""Peer benchmark: rjson against orjson, ssrjson, msgspec, pyrjson and the standard library.

Usually started by `benches/run`, which builds rjson and the peers' virtual environments.
Prints Markdown tables of RATIOS, peer time / rjson time (above 1: rjson is faster),
one table per mode:

  fresh  dumps of objects seen for the first time: each call gets its own new
         `json.loads` copy, made outside the timed region (what a server sees);
  warm   dumps of the same object again and again (what most published numbers show);
  loads  parsing the case's UTF-8 bytes.

Every column compares equal work: rjson's call that produces the same output as the peer's
(`dumps_bytes` against `orjson.dumps` and the like; `dumps` against `json.dumps`). The outputs
are compared once per case; a ratio marked "≠" compares different output (listed under the
table) and is left out of the geometric mean.

Measurement: within each round every library runs one batch (calls back to back, the batch
sized to `--target-ms`), in a new random order each round; rounds repeat until the case's
time budget is spent; the per-call time kept for each library is the minimum over the
rounds, so all ratios come from one run, side by side. The clock is the thread's CPU time
(see CLOCK below for why; `--clock wall` for elapsed time).

pyrjson installs a module that is also named `rjson`, so it runs in its own virtual
environment: this file, started there with `--worker`, serves timing requests over a pipe.
"""

from __future__ import annotations

import argparse
import base64
import functools
import gc
import json
import lzma
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# --------------------------------------------------------------------------- cases

CORPORA = [
    "twitter", "github", "citm_catalog", "canada", "gsoc-2018", "twitterescaped",
    "update-center", "random", "marine_ik", "mesh", "numbers", "apache_builds", "instruments",
]


def _text(rng: random.Random, alphabet: str, count: int, length: int) -> list[str]:
    return ["".join(rng.choices(alphabet, k=length)) for _ in range(count)]


_ASCII = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\')
_LATIN1 = "abcdefghijklmnopqrstuvwxyz    éèàüöäñßçøåÉÜ"
_CJK = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 2000)) + "，。 "
_EMOJI = "".join(chr(c) for c in range(0x1F600, 0x1F650)) + "abcdefgh  "
_ESCAPES = 'abcdefghijklmnop"\\\n\t\r\b\f\x00\x01\x1f'   # 10 of 26 need an escape


def _records(rng: random.Random, count: int) -> list[dict]:
    words = ["alpha", "beta", "gamma", "delta", "ops", "admin", "web", "db", "eu", "us"]
    return [
        {
            "id": 100000 + i,
            "name": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 12))),
            "email": f"user{i}@example.com",
            "active": rng.random() < 0.5,
            "score": round(rng.uniform(0, 100), 2),
            "tags": rng.sample(words, 2),
            "created": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z",
            "parent": None if rng.random() < 0.3 else rng.randint(1, 99999),
        }
        for i in range(count)
    ]


def _ints(rng: random.Random, count: int) -> list[int]:
    # Small, 32-bit and 64-bit magnitudes, both signs; all fit every peer's int64/uint64.
    bits = [8, 16, 32, 63]
    return [rng.randrange(-(1 << b), 1 << b) for b in rng.choices(bits, k=count)]


def _floats(rng: random.Random, count: int) -> list[float]:
    # Half prices (2 decimals), half full 17-digit doubles; magnitudes kept within
    # [1e-4, 1e16) where every peer writes the same digits as repr().
    return [rng.uniform(-1e6, 1e6) if i % 2 else round(rng.uniform(0, 1e4), 2)
            for i in range(count)]


# name -> (seeded builder). Each builds the same object in every process (same seed).
SYNTHETIC = {
    "ascii_long": lambda r: _text(r, _ASCII, 64, 8192),
    "short_strings": lambda r: [s[: r.randint(1, 16)] for s in _text(r, _ASCII, 40000, 16)],
    "latin1": lambda r: _text(r, _LATIN1, 2000, 200),
    "cjk": lambda r: _text(r, _CJK, 2000, 100),
    "emoji": lambda r: _text(r, _EMOJI, 2000, 60),
    "escapes": lambda r: _text(r, _ESCAPES, 2000, 200),
    "ints": lambda r: _ints(r, 100000),
    "floats": lambda r: _floats(r, 100000),
    "records": lambda r: _records(r, 5000),
    "small_dict": lambda r: {"id": 123456, "name": "Alice Smith", "active": True,
                             "score": 97.5, "tags": ["admin", "ops"]},
}

ALL_CASES = CORPORA + list(SYNTHETIC)


@functools.lru_cache(maxsize=4)
def case_bytes(name: str) -> bytes:
    """The UTF-8 JSON document a case starts from: loads parses it, dumps gets copies of it."""
    if name in SYNTHETIC:
        obj = SYNTHETIC[name](random.Random(name))
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return lzma.decompress((DATA / f"{name}.json.xz").read_bytes())


# ---------------------------------------------------------------------- libraries

# An "api" names one kind of call; both sides of a column use the same api, so they
# produce the same output:
#   bytes    compact UTF-8 bytes, ensure_ascii=False (rjson.dumps_bytes, orjson.dumps, ...)
#   compact  the same text as a str (rjson.dumps with those options, pyrjson.dumps_str)
#   str      json.dumps(obj) exactly (rjson.dumps, json.dumps)
#   loads    parse bytes
def load_library(lib: str) -> tuple[dict, str]:
    """{api: function} for a library, and a version string."""
    from importlib import metadata

    if lib == "rjson":
        import rjson
        if not hasattr(rjson, "simd_backend"):
            raise ImportError(f"the rjson at {rjson.__file__} is not this project's rjson")
        dumps, wire = rjson.dumps, (",", ":")

        def compact(obj):
            # A plain call with keywords, as user code makes it (functools.partial would
            # add a dict merge per call, several times rjson's own keyword handling).
            return dumps(obj, ensure_ascii=False, separators=wire)
        version = getattr(rjson, "__version__", "?")
        return ({"bytes": rjson.dumps_bytes, "compact": compact, "str": rjson.dumps,
                 "loads": rjson.loads}, f"{version} ({rjson.simd_backend()})")
    if lib == "pyrjson":
        import rjson   # pyrjson's module; this runs in pyrjson's own environment
        if not hasattr(rjson, "dumps_str"):
            raise ImportError(f"the rjson at {rjson.__file__} is not pyrjson")
        return ({"bytes": rjson.dumps, "compact": rjson.dumps_str, "loads": rjson.loads},
                metadata.version("pyrjson"))
    if lib == "orjson":
        import orjson
        return {"bytes": orjson.dumps, "loads": orjson.loads}, orjson.__version__
    if lib == "ssrjson":
        import ssrjson
        return ({"bytes": ssrjson.dumps_to_bytes, "loads": ssrjson.loads},
                metadata.version("ssrjson"))
    if lib == "msgspec":
        import msgspec
        return ({"bytes": msgspec.json.encode, "loads": msgspec.json.decode},
                msgspec.__version__)
    if lib == "json":
        return {"str": json.dumps, "loads": json.loads}, platform.python_version()
    raise ValueError(f"unknown library {lib}")


@dataclass(frozen=True)
class Column:
    label: str
    peer: str          # library
    api: str           # the same api on both sides


DUMPS_COLUMNS = [
    Column("orjson", "orjson", "bytes"),
    Column("ssrjson", "ssrjson", "bytes"),
    Column("msgspec", "msgspec", "bytes"),
    Column("pyrjson", "pyrjson", "bytes"),
    Column("pyrjson str", "pyrjson", "compact"),
    Column("json", "json", "str"),
    Column("A/A", "rjson-again", "bytes"),
]
LOADS_COLUMNS = [Column(p, p, "loads") for p in ("orjson", "ssrjson", "msgspec", "pyrjson", "json")]
LOADS_COLUMNS.append(Column("A/A", "rjson-again", "loads"))
# A/A: rjson timed against itself, as if it were one more peer. It is the noise gauge of
# the run: ratios in other columns as close to 1 as this one's spread say nothing.
PEERS = ["orjson", "ssrjson", "msgspec", "pyrjson", "json"]
MODES = ["fresh", "warm", "loads"]
MODE_TITLES = {
    "fresh": "dumps, fresh objects (each call a new json.loads copy)",
    "warm": "dumps, warm (the same object every call)",
    "loads": "loads (UTF-8 bytes)",
}


# ------------------------------------------------------------------------ timing

# The clock of every batch. The machine is shared: other jobs take the cores for a few
# milliseconds at a time, and wall time counts those pauses (seen here: the same code timed
# against itself at ratios from 0.5 to 2.5 under load). This thread's CPU time does not count
# them (same test: within 0.92-1.08); --clock wall measures wall time instead.
CLOCKS = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
CLOCK = CLOCKS["cpu"]


class Local:
    """Runs one library's calls in this process."""

    def __init__(self, lib: str):
        self.lib = lib
        self.apis, self.version = load_library(lib)
        self._warm: dict[str, object] = {}   # case -> this library's own warm object

    def time(self, case: str, mode: str, api: str, n: int) -> float:
        """Seconds per call, for a batch of n calls."""
        fn, data = self.apis[api], case_bytes(case)
        enabled = gc.isenabled()
        gc.disable()   # as timeit does: no collection pauses inside a batch
        try:
            if mode == "loads":
                t0 = CLOCK()
                for _ in range(n):
                    fn(data)
                t1 = CLOCK()
            elif mode == "warm":
                obj = self._warm_object(case)
                t0 = CLOCK()
                for _ in range(n):
                    fn(obj)
                t1 = CLOCK()
            else:
                copies = [json.loads(data) for _ in range(n)]   # outside the timed region
                t0 = CLOCK()
                for obj in copies:
                    fn(obj)
                t1 = CLOCK()
                del copies
        finally:
            if enabled:
                gc.enable()
        return (t1 - t0) / n / 1e9

    def _warm_object(self, case: str):
        if case not in self._warm:
            self._warm = {case: json.loads(case_bytes(case))}   # keep one case at a time
        return self._warm[case]

    def output(self, case: str, api: str) -> bytes:
        """The call's output on a fresh copy, as bytes (loads: the result re-dumped by json)."""
        data = case_bytes(case)
        if api == "loads":
            out = json.dumps(self.apis[api](data), ensure_ascii=False)
        else:
            out = self.apis[api](json.loads(data))
        return out.encode("utf-8") if isinstance(out, str) else bytes(out)


class Remote:
    """The same interface as Local, served by a worker process in another environment."""

    def __init__(self, lib: str, python: str, clock: str):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # no foreign rjson
        self.proc = subprocess.Popen([python, __file__, "--worker", lib, "--clock", clock],
                                     env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            hello = self._call()
        except Exception:
            self.close()
            raise
        self.lib, self.version, self.apis = lib, hello["version"], dict.fromkeys(hello["apis"])

    def _call(self, **request):
        if request:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {request.get('op', 'start')} request killed the worker")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def time(self, case, mode, api, n):
        return self._call(op="time", case=case, mode=mode, api=api, n=n)["seconds"]

    def output(self, case, api):
        return base64.b64decode(self._call(op="output", case=case, api=api)["b64"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def serve(lib: str) -> None:
    """Worker: answer one JSON request per line on stdin, one JSON reply per line."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr   # a stray print must not corrupt the protocol
    try:
        runner = Local(lib)
        reply = {"version": runner.version, "apis": list(runner.apis)}
    except Exception as e:   # reported to the driver, which leaves the library out
        reply = {"error": f"{type(e).__name__}: {e}"}
    out.write(json.dumps(reply).encode() + b"\n")
    out.flush()
    if "error" in reply:
        return
    for line in sys.stdin.buffer:
        req = json.loads(line)
        try:
            if req["op"] == "time":
                reply = {"seconds": runner.time(req["case"], req["mode"], req["api"], req["n"])}
            else:
                raw = runner.output(req["case"], req["api"])
                reply = {"b64": base64.b64encode(raw).decode()}
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


# ------------------------------------------------------------------- measuring

@dataclass
class Settings:
    target: float         # seconds per batch
    budget: float         # seconds of rounds per case and mode, once min_rounds are done
    min_rounds: int
    max_rounds: int
    stat: str             # "min" or "median"
    clock: str = "cpu"
    fresh_bytes: int = 64 << 20   # at most this much source JSON copied per fresh batch


# Many short rounds, each in a new random order, so that what noise the clock still sees
# (caches shared with other jobs) falls on every library alike; the minimum drops the rest.
FULL = dict(target=0.002, budget=3.0, min_rounds=5, max_rounds=40)
QUICK = dict(target=0.002, budget=0.3, min_rounds=2, max_rounds=3)


@dataclass
class Cell:
    """One case in one mode: ratio per column label, and notes."""
    ratios: dict = field(default_factory=dict)
    differs: set = field(default_factory=set)
    errors: dict = field(default_factory=dict)
    rounds: int = 0


def batch_size(runner, case: str, mode: str, api: str, s: Settings) -> int:
    """Calls per batch so a batch lasts about s.target; also warms the call up."""
    per_call = min(runner.time(case, mode, api, 1) for _ in range(2))
    n = max(1, int(s.target / max(per_call, 1e-9)))
    if mode == "fresh":
        n = min(n, max(1, s.fresh_bytes // len(case_bytes(case))))
    return n


def measure(runners: dict, contenders: list, case: str, mode: str, s: Settings):
    """{(lib, api): seconds per call}, the libraries interleaved within each round;
    and the number of rounds."""
    sizes = {c: batch_size(runners[c[0]], case, mode, c[1], s) for c in contenders}
    samples = {c: [] for c in contenders}
    order, shuffle = list(contenders), random.Random(f"{case} {mode}").shuffle
    start = time.monotonic()
    for r in range(s.max_rounds):
        if r >= s.min_rounds and time.monotonic() - start > s.budget:
            break
        shuffle(order)   # no library always runs first, or always after the same one
        for lib, api in order:
            samples[lib, api].append(runners[lib].time(case, mode, api, sizes[lib, api]))
    pick = min if s.stat == "min" else statistics.median
    return {c: pick(v) for c, v in samples.items()}, len(samples[contenders[0]])


def first_difference(a: bytes, b: bytes) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at byte {i}: rjson {a[max(0, i - 16):i + 16]!r} vs {b[max(0, i - 16):i + 16]!r}"


def check_outputs(runners, columns, case, notes) -> tuple[set, dict]:
    """Which columns' peers write different output than rjson (once per case), which fail."""
    differs, errors, reference = set(), {}, {}
    for col in columns:
        lib = "rjson"
        try:
            if col.api not in reference:
                reference[col.api] = runners["rjson"].output(case, col.api)
            lib = col.peer
            theirs = runners[col.peer].output(case, col.api)
        except Exception as e:
            errors[col.label] = f"{lib} raised {type(e).__name__}: {str(e)[:120]}"
            continue
        if theirs != reference[col.api]:
            differs.add(col.label)
            notes.append(f"{case}, {col.label}: output differs "
                         f"{first_difference(reference[col.api], theirs)}")
    return differs, errors


def run_case(runners, columns, case, mode, s, checked, notes) -> Cell:
    kind = "loads" if mode == "loads" else "dumps"
    if (case, kind) not in checked:
        checked[case, kind] = check_outputs(runners, columns, case, notes)
    differs, errors = checked[case, kind]
    usable = [c for c in columns if c.label not in errors]
    if not usable:
        return Cell(differs=differs, errors=errors)
    contenders = sorted({("rjson", c.api) for c in usable} | {(c.peer, c.api) for c in usable})
    times, rounds = measure(runners, contenders, case, mode, s)
    cell = Cell(differs=differs, errors=errors, rounds=rounds)
    for c in usable:
        cell.ratios[c.label] = times[c.peer, c.api] / times["rjson", c.api]
    return cell


# ---------------------------------------------------------------------- report

def geomean(values: list[float]) -> float | None:
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def table(mode: str, cases: list, cells: dict, columns: list) -> str:
    labels = [c.label for c in columns]
    lines = [f"### {MODE_TITLES[mode]}", "",
             "| case | size | " + " | ".join(labels) + " |",
             "|---|---:|" + "---:|" * len(labels)]
    for case in cases:
        cell = cells[case]
        row = [_show(cell, label) for label in labels]
        lines.append(f"| {case} | {_size(len(case_bytes(case)))} | " + " | ".join(row) + " |")
    means = []
    for label in labels:
        m = geomean([cells[c].ratios[label] for c in cases
                     if label in cells[c].ratios and label not in cells[c].differs])
        means.append("–" if m is None else f"**{m:.2f}**")
    lines.append("| **geomean** | | " + " | ".join(means) + " |")
    rounds = sorted(cells[c].rounds for c in cases)
    lines += ["", f"Rounds per case: {rounds[0]}–{rounds[-1]}, median {statistics.median(rounds):g}."]
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:,.0f} KiB"


def _show(cell: Cell, label: str) -> str:
    if label in cell.errors:
        return "error"
    if label not in cell.ratios:
        return "–"
    return f"{cell.ratios[label]:.2f}" + (" ≠" if label in cell.differs else "")


def header(runners: dict, s: Settings, missing: dict) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.machine())
    versions = ", ".join(f"{lib} {r.version}" for lib, r in runners.items()
                         if lib != "rjson-again")
    lines = [
        "## rjson peer benchmark", "",
        "Ratios: peer time / rjson time for the same output (above 1: rjson is faster), "
        f"{s.stat} over {s.min_rounds}–{s.max_rounds} interleaved rounds "
        f"(~{s.budget:g} s per case and mode) of ~{s.target * 1e3:g} ms batches, "
        f"{'CPU time of the thread' if s.clock == 'cpu' else 'wall time'}. "
        "≠: the peer's output differs from rjson's (see notes; not in the geomean). "
        "A/A: rjson against itself, the run's noise.", "",
        f"- {platform.python_implementation()} {platform.python_version()}, {cpu}, "
        f"{os.cpu_count()} cores",
        f"- {versions}",
    ]
    lines += [f"- {lib}: not run ({why})" for lib, why in missing.items()]
    return "\n".join(lines)


# Peers drawn in the chart (json is far off the scale of the others and has its own column
# in the tables; A/A is the noise gauge).
CHART_PEERS = ["orjson", "ssrjson", "msgspec", "pyrjson", "pyrjson str"]


def chart(path: str, cases: list, results: dict) -> None:
    """One panel per mode: for each case, a bar per peer at its ratio (log scale; right
    of the line at 1: rjson is faster)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    modes = list(results)
    fig, axes = plt.subplots(1, len(modes), figsize=(5.5 * len(modes), 0.34 * len(cases) + 1.8),
                             sharey=True, squeeze=False)
    for ax, mode in zip(axes[0], modes):
        cells, columns = results[mode]
        peers = [c.label for c in columns if c.label in CHART_PEERS]
        height = 0.8 / max(1, len(peers))
        for k, peer in enumerate(peers):
            ys = [i + (k - (len(peers) - 1) / 2) * height for i in range(len(cases))]
            xs = [cells[c].ratios.get(peer, float("nan")) for c in cases]
            # Bars grow from 1 (a tie) towards the ratio: rightwards where rjson is faster.
            ax.barh(ys, [x - 1 for x in xs], left=1, height=height, label=peer)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlim(0.05, 30)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(MODE_TITLES[mode], fontsize=9)
        ax.set_xlabel("peer time / rjson time (right of 1: rjson faster)", fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0][0].set_yticks(range(len(cases)))
    axes[0][0].set_yticklabels(cases, fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart written to {path}", file=sys.stderr)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ------------------------------------------------------------------------ main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run for CI: %(min_rounds)d-%(max_rounds)d short rounds per case "
                        "(the numbers are rough)" % QUICK)
    p.add_argument("--budget", type=float, metavar="S",
                   help="seconds of rounds per case and mode (default %(budget)g)" % FULL)
    p.add_argument("--rounds", type=int, metavar="N",
                   help="exactly N rounds per case and mode, whatever the budget")
    p.add_argument("--target-ms", type=float, metavar="MS",
                   help="length of one batch of calls (default %g)" % (FULL["target"] * 1e3))
    p.add_argument("--stat", choices=["min", "median"], default="min",
                   help="per-call time kept from the rounds (default min)")
    p.add_argument("--clock", choices=list(CLOCKS), default="cpu",
                   help="cpu: this thread's CPU time, blind to other jobs' pauses (default); "
                        "wall: elapsed time")
    p.add_argument("--cases", default="all",
                   help="comma-separated case names, or 'corpora', 'synthetic', 'all'")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ",".join(MODES))
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated: " + ",".join(PEERS))
    p.add_argument("--pyrjson-python", metavar="PATH",
                   help="python of the virtual environment that has pyrjson")
    p.add_argument("--output", metavar="FILE", help="also write the Markdown report here")
    p.add_argument("--chart", metavar="PNG",
                   help="also draw the ratios as a chart (needs matplotlib)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--worker", metavar="LIB", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.cases = _choose(args.cases, ALL_CASES, {"corpora": CORPORA, "synthetic": list(SYNTHETIC),
                                                 "all": ALL_CASES}, p)
    args.modes = _choose(args.modes, MODES, {}, p)
    args.peers = _choose(args.peers, PEERS, {}, p)
    return args


def _choose(text: str, known: list, groups: dict, parser) -> list:
    chosen = []
    for name in filter(None, text.split(",")):
        for item in groups.get(name, [name]):
            if item not in known:
                parser.error(f"unknown name {item!r}; choose from {', '.join(known)}")
            if item not in chosen:
                chosen.append(item)
    return chosen


def start_runners(peers: list, pyrjson_python: str | None, clock: str) -> tuple[dict, dict]:
    """The runner of each library that could be started, and why the others could not."""
    runners, missing = {"rjson": Local("rjson")}, {}
    runners["rjson-again"] = runners["rjson"]
    for lib in peers:
        try:
            if lib == "pyrjson":
                if not pyrjson_python:
                    raise RuntimeError("no --pyrjson-python given")
                runners[lib] = Remote(lib, pyrjson_python, clock)
            else:
                runners[lib] = Local(lib)
        except Exception as e:
            missing[lib] = f"{type(e).__name__}: {e}"
    return runners, missing


def main(argv=None) -> int:
    global CLOCK
    args = parse_args(argv)
    CLOCK = CLOCKS[args.clock]
    if args.worker:
        serve(args.worker)
        return 0
    if args.list:
        print("\n".join(ALL_CASES))
        return 0
    s = Settings(**(QUICK if args.quick else FULL), stat=args.stat, clock=args.clock)
    if args.budget is not None:
        s.budget = args.budget
    if args.rounds:
        s.min_rounds = s.max_rounds = args.rounds
    if args.target_ms:
        s.target = args.target_ms / 1e3
    runners, missing = start_runners(args.peers, args.pyrjson_python, args.clock)
    report, notes, checked = [header(runners, s, missing)], [], {}
    results = {}   # mode -> (cells, columns), for the chart
    started = time.monotonic()
    for mode in args.modes:
        columns = [c for c in (LOADS_COLUMNS if mode == "loads" else DUMPS_COLUMNS)
                   if c.peer in runners and c.api in runners[c.peer].apis]
        cells = {}
        for case in args.cases:
            print(f"  {mode:5} {case} ...", file=sys.stderr, flush=True)
            cells[case] = run_case(runners, columns, case, mode, s, checked, notes)
        report.append(table(mode, args.cases, cells, columns))
        results[mode] = cells, columns
    errors = sorted({(case, label, why) for (case, _), (_, errs) in checked.items()
                     for label, why in errs.items()})
    notes += [f"{case}, {label}: failed: {why}" for case, label, why in errors]
    if notes:
        report.append("Notes:\n\n" + "\n".join(f"- {n}" for n in notes))
    report.append(f"({time.monotonic() - started:.0f} s)")
    text = "\n\n".join(report) + "\n"
    print(text, end="")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.chart:
        chart(args.chart, args.cases, results)
    for r in runners.values():
        if isinstance(r, Remote):
            r.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
