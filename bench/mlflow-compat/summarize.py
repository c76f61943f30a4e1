"""Summarise pytest JUnit XML files: counts per file and one line per failing test.

Usage: python3 summarize.py report1.xml [report2.xml ...]
Prints, per file, "passed / failed / error / skipped / xfailed" and then each failing
test with the first line of its failure message, and each skip reason with its count.
"""

import collections
import sys
import xml.etree.ElementTree as ET


def main(paths):
    for path in paths:
        tree = ET.parse(path)
        counts = collections.Counter()
        failures = []
        skips = collections.Counter()
        for tc in tree.iter("testcase"):
            kinds = [c for c in tc if c.tag in ("failure", "error", "skipped")]
            if not kinds:
                counts["passed"] += 1
                continue
            c = kinds[0]
            msg = (c.get("message") or "").strip().splitlines()
            first = msg[0][:300] if msg else ""
            if c.tag == "skipped":
                if c.get("type") == "pytest.xfail" or first.startswith("xfail"):
                    counts["xfailed"] += 1
                else:
                    counts["skipped"] += 1
                    skips[first] += 1
            else:
                counts["failed" if c.tag == "failure" else "error"] += 1
                failures.append((tc.get("name"), c.tag, first))
        total = sum(counts.values())
        print(f"== {path}: {total} tests: " + ", ".join(
            f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped", "xfailed")))
        for name, tag, first in failures:
            print(f"  {tag.upper():7} {name}: {first}")
        for reason, n in skips.most_common():
            print(f"  SKIP x{n}: {reason}")


if __name__ == "__main__":
    main(sys.argv[1:])
