#!/usr/bin/env python3
"""Driver of benches/timing_fidelity.sh. Stdlib only; 127.0.0.1 only.

  timing_fidelity.py probe EXPORTER_URL TARGET_URL DELAY_MS COUNT CONCURRENCY TAG OUT
      Asks EXPORTER_URL/probe COUNT times (CONCURRENCY at once) to probe
      TARGET_URL/<DELAY_MS>/<TAG>-<i>, and appends to OUT one line per answer:
      "<TAG>-<i> <probe_success> <probe_duration_seconds> <processing seconds>".

  timing_fidelity.py report SERVER_LOG RESULTS...
      Joins each result with the delay target's log line for the same id
      ("<id> <ms> <held_ns>": what the target measured between reading the request
      and answering) and prints, per result file, tab-separated:
      "<file> <delay_ms> <n> <failed> <dur p50> <dur p99> <proc p50> <proc p99>",
      the errors reported - measured, in milliseconds.
"""
import concurrent.futures
import sys
import urllib.parse
import urllib.request


def scrape(exporter: str, target: str) -> tuple[str, str, str]:
    query = urllib.parse.urlencode({"module": "http_delay", "target": target})
    req = urllib.request.Request(
        f"{exporter}/probe?{query}",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"},
    )
    with urllib.request.urlopen(req, timeout=15) as resp:
        text = resp.read().decode()
    values = {"success": "nan", "duration": "nan", "processing": "nan"}
    for line in text.splitlines():
        if line.startswith("probe_success "):
            values["success"] = line.split()[-1]
        elif line.startswith("probe_duration_seconds "):
            values["duration"] = line.split()[-1]
        elif line.startswith('probe_http_duration_seconds{phase="processing"}'):
            values["processing"] = line.split()[-1]
    return values["success"], values["duration"], values["processing"]


def probe(args: list[str]) -> None:
    exporter, target, delay, count, conc, tag, out = args
    ids = [f"{tag}-{i}" for i in range(int(count))]

    def one(id_: str) -> str:
        return " ".join((id_,) + scrape(exporter, f"{target}/{delay}/{id_}"))

    with concurrent.futures.ThreadPoolExecutor(int(conc)) as pool:
        lines = list(pool.map(one, ids))
    with open(out, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    rank = max(1, -(-len(s) * q // 100))
    return s[int(rank) - 1]


def report(args: list[str]) -> None:
    held: dict[str, tuple[int, float]] = {}
    with open(args[0], encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                held[parts[0]] = (int(parts[1]), int(parts[2]) / 1e9)
    for path in args[1:]:
        by_delay: dict[int, tuple[list[float], list[float], int]] = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                id_, success, duration, processing = line.split()
                if id_ not in held:
                    continue
                ms, truth = held[id_]
                dur, proc, failed = by_delay.setdefault(ms, ([], [], 0))
                if success != "1":
                    by_delay[ms] = (dur, proc, failed + 1)
                    continue
                dur.append((float(duration) - truth) * 1000)
                proc.append((float(processing) - truth) * 1000)
        for ms, (dur, proc, failed) in sorted(by_delay.items()):
            if not dur:
                print(f"{path}\t{ms}\t0\t{failed}\tnan\tnan\tnan\tnan")
                continue
            print(
                f"{path}\t{ms}\t{len(dur)}\t{failed}\t{pct(dur, 50):.3f}\t{pct(dur, 99):.3f}"
                f"\t{pct(proc, 50):.3f}\t{pct(proc, 99):.3f}"
            )


if __name__ == "__main__":
    {"probe": probe, "report": report}[sys.argv[1]](sys.argv[2:])
