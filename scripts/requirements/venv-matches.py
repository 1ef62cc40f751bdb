"""Exit 0 when this Python's environment holds exactly the pins of a requirements file.

Usage: VENV/bin/python venv-matches.py REQUIREMENTS.txt

Compares every `name==version` line of the file (pip-compile's output) with the
distributions installed in the running interpreter's environment, names compared in
PEP 503's normal form. pip, setuptools and wheel are left out unless the file pins
them, since `python3 -m venv` puts its own there. On a difference it prints what is
missing, has another version or is extra (the first five, then a count), exits 1.
"""
import importlib.metadata
import re
import sys

BOOTSTRAP = {"pip", "setuptools", "wheel"}
# Differences named in the message; the rest are counted.
SHOWN = 5


def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path):
    pins = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
            if m:
                pins[normal(m.group(1))] = m.group(2)
    return pins


def installed():
    return {
        normal(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    }


def main():
    want = pinned(sys.argv[1])
    have = installed()
    problems = []
    for name, version in sorted(want.items()):
        if name not in have:
            problems.append(f"missing {name}=={version}")
        elif have[name] != version:
            problems.append(f"{name} {have[name]} instead of {version}")
    for name in sorted(set(have) - set(want) - BOOTSTRAP):
        problems.append(f"extra {name}=={have[name]}")
    if problems:
        more = len(problems) - SHOWN
        print("; ".join(problems[:SHOWN]) + (f" and {more} more" if more > 0 else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
