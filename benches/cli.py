"""``python -m json.tool`` against ``python -m rjson``, end to end, process start included.

    python benches/cli.py [--runs N] [--python PYTHON ...]

Each Python (default: this one; rjson must be importable there) runs both commands on each
larger corpus, interleaved, output to /dev/null; a run's cost is the CPU time of its process
(user + system, from wait4). Prints a Markdown table of json.tool's median over rjson's.
"""

import argparse
import lzma
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CORPORA = ("twitter", "citm_catalog", "canada", "marine_ik", "gsoc-2018")
DATA = Path(__file__).resolve().parent / "data"


def cpu_seconds(command):
    """The CPU time the process running ``command`` used, in seconds."""
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE)
        # Read to the end first: a child blocked on a full pipe would never exit.
        error = process.stderr.read()
        process.stderr.close()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{error.decode()}")
    return usage.ru_utime + usage.ru_stime


def ratio(python, path, runs):
    """json.tool's median CPU time over rjson's for one document."""
    times = {"json.tool": [], "rjson": []}
    for _ in range(runs):
        for module in times:
            times[module].append(cpu_seconds([python, "-m", module, str(path)]))
    return statistics.median(times["json.tool"]) / statistics.median(times["rjson"])


def version(python):
    out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--python", nargs="+", default=[sys.executable])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = []
        for name in CORPORA:
            path = Path(scratch) / f"{name}.json"
            path.write_bytes(lzma.decompress((DATA / f"{name}.json.xz").read_bytes()))
            files.append(path)
        print("| Python | " + " | ".join(CORPORA) + " |")
        print("|---" * (len(CORPORA) + 1) + "|")
        for python in args.python:
            cells = [f"{ratio(python, path, args.runs):.1f}" for path in files]
            print(f"| {version(python)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
