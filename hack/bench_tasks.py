#!/usr/bin/env python3
"""Where a `sync` spent its time, for hack/bench.sh: reads one run's `--out` folder and prints, as
JSON, each pipeline task's wall time (state/<task>.json) and what its `artifact use` steps took in
(the files and bytes of the artifacts they fetched, read from the blobs in out/artifacts).

    bench_tasks.py collect OUT SINCE      -> {"task": {"ms": .., "files": .., "bytes": ..}, ...}
                                             (SINCE: the run's start, nanoseconds since the epoch; the
                                             logs of TaskRuns an earlier run left are not counted)
    bench_tasks.py table LABEL BASE.json... -- NEW.json...
                                          -> a markdown table of medians, the new binary against the base
"""
import glob
import json
import os
import re
import statistics
import sys
import tarfile


def artifact_size(out, digest, memo):
    if digest not in memo:
        files = size = 0
        for blob in glob.glob(os.path.join(out, "artifacts", "**", "blobs", "sha256", digest), recursive=True):
            with tarfile.open(blob, "r:gz") as archive:
                for member in archive:
                    if member.isfile() or member.issym():
                        files += 1
                        size += member.size
            break
        memo[digest] = (files, size)
    return memo[digest]


def collect(out, since):
    tasks = {}
    for path in sorted(glob.glob(os.path.join(out, "state", "*.json"))):
        name = os.path.basename(path)[: -len(".json")]
        try:
            outcome = json.load(open(path))
        except (OSError, ValueError):
            continue
        if isinstance(outcome, dict) and "millis" in outcome:
            tasks[name] = {"ms": outcome.get("millis", 0), "files": 0, "bytes": 0, "written": 0}
    memo = {}
    names = sorted(tasks, key=len, reverse=True)
    for log in glob.glob(os.path.join(out, "runs", "*", "*.log")):
        run = os.path.basename(os.path.dirname(log))
        task = next((name for name in names if run == name or run.startswith(name + "-")), None)
        if task is None or os.path.getmtime(log) < since:
            continue
        text = re.sub(r"\x1b\[[0-9;]*m", "", open(log, errors="replace").read())
        for line in text.splitlines():
            if "artifact restored" not in line:
                continue
            for digest in re.findall(r"oci:\S*?@sha256:([0-9a-f]{64})", line):
                files, size = artifact_size(out, digest, memo)
                tasks[task]["files"] += files
                tasks[task]["bytes"] += size
            written = re.search(r"\bwritten=(\d+)", line)
            tasks[task]["written"] += int(written.group(1)) if written else 0
    return tasks


def median(runs, task, field):
    values = [run[task][field] for run in runs if task in run]
    return statistics.median(values) if values else None


def table(label, base_files, new_files):
    base = [json.load(open(path)) for path in base_files]
    new = [json.load(open(path)) for path in new_files]
    order = []
    for run in new + base:
        for task in run:
            if task not in order:
                order.append(task)
    print(f"\n{label} (median of {len(new)} run(s) each; restored = the files and bytes of the artifacts a task's `artifact use` steps fetch, and how many files they wrote)\n")
    print("| task | this tree: time | restored | baseline: time | restored | time vs baseline |")
    print("|---|---|---|---|---|---|")

    def shown(runs, task):
        ms = median(runs, task, "ms")
        if ms is None:
            return "-", "-"
        files, size = median(runs, task, "files"), median(runs, task, "bytes")
        written = statistics.median([run[task].get("written", 0) for run in runs if task in run])
        return f"{ms:.0f} ms", f"{files:.0f} files, {size / 1e6:.1f} MB, {written:.0f} written"

    for task in order:
        new_time, new_restored = shown(new, task)
        base_time, base_restored = shown(base, task)
        new_ms, base_ms = median(new, task, "ms"), median(base, task, "ms")
        ratio = f"{base_ms / max(new_ms, 1):.1f}× faster" if new_ms is not None and base_ms is not None else "-"
        print(f"| {task} | {new_time} | {new_restored} | {base_time} | {base_restored} | {ratio} |")


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        json.dump(collect(sys.argv[2], int(sys.argv[3]) / 1e9), sys.stdout)
    elif sys.argv[1] == "table":
        rest = sys.argv[3:]
        split = rest.index("--")
        table(sys.argv[2], rest[:split], rest[split + 1 :])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
