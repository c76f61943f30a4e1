"""Why the Snorkel label model loses to majority vote on the YouTube tutorial LFs.

Groups the training rows of the tutorial split by which of the seven LFs of
examples/youtube/lfs.yaml vote on them and prints, per vote pattern, the
number of rows, the fraction that is really spam (the split's gold CLASS,
read here for the diagnosis only) and P(spam) in each labels file given.
The LFs are restated here; every row's vote count is checked against the
labels file's `votes` column, so a mismatch with dawn's LFs stops the script.

Usage: python3 youtube_lf_patterns.py labels-a.csv [labels-b.csv ...]
(files written by `dawn label run` on the same train.csv)
"""
import collections
import csv
import re
import sys


def votes(text):
    low = text.lower()
    v = []
    if "my" in low:
        v.append("my")
    if "subscribe" in low:
        v.append("subscribe")
    if "http" in low:
        v.append("link")
    if "please" in low or "plz" in low:
        v.append("please")
    if "song" in low:
        v.append("SONG")
    if re.search("check.*out", text, re.I):
        v.append("check_out")
    if len(text.split()) < 5:
        v.append("SHORT")
    return tuple(v)


files = sys.argv[1:]
tables = [list(csv.DictReader(open(f, newline="", encoding="utf-8"))) for f in files]
agg = collections.defaultdict(lambda: [0, 0, None])
for i, row in enumerate(tables[0]):
    p = votes(row["CONTENT"])
    for f, t in zip(files, tables):
        if int(t[i]["votes"]) != len(p):
            sys.exit(f"{f}: row {i + 1}: {t[i]['votes']} votes, the restated LFs give {len(p)}")
    a = agg[p]
    a[0] += 1
    a[1] += row["CLASS"] == "1"
    a[2] = [float(t[i]["prob_SPAM"]) for t in tables]
print("pattern (SPAM LFs lower case, HAM LFs upper case) | rows | gold spam | P(spam) in " + ", ".join(files))
for p, (n, s, pr) in sorted(agg.items(), key=lambda z: -z[1][0]):
    if n < 10:
        continue
    print(f"{'+'.join(p) or '(no vote)':26s} | {n:4d} | {s / n:.2f} | " + " ".join(f"{x:.3f}" for x in pr))
