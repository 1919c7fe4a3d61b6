#!/usr/bin/env python3
"""Runs `framescope probe` and kosoku (Autobahn's case files, run natively; pip install kosoku)
against the same server and compares their verdicts case by case.

    scripts/probe-vs-kosoku.py ws://127.0.0.1:9001/ [--cases '1.*,2.*'] [--framescope PATH]

kosoku's two columns are folded into pass/fail with framescope's rule (src/probe/mod.rs):
fail when the behaviour is FAILED, when the closing is FAILED (wrong endpoint), or when a
category 7 closing is UNCLEAN. Prints the agreement per category and every difference.
Not run in CI (kosoku is slow on categories 9 and 12/13); the figures are in the README."""
import argparse, glob, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("url")
ap.add_argument("--cases", default="1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.7.*,9.8.*,10.*,12.*,13.*")
ap.add_argument("--framescope", default="target/debug/framescope")
ap.add_argument("--kosoku-dir", help="reuse an existing kosoku report directory")
a = ap.parse_args()
tmp = tempfile.mkdtemp(prefix="probe-vs-kosoku-")
report = os.path.join(tmp, "framescope.json")
subprocess.run([a.framescope, "probe", a.url, "--cases", a.cases, "--quiet", "--report", report], check=False)
mine = {r["id"]: r for r in json.load(open(report))}
kdir = a.kosoku_dir
if not kdir:
    kdir = os.path.join(tmp, "kosoku")
    hostport = a.url.split("://", 1)[1].split("/", 1)[0]
    args = ["kosoku", hostport, "-o", kdir, "-p", "1"]
    for c in a.cases.split(","):
        args += ["-i", c]
    subprocess.run(args, check=False, stdout=subprocess.DEVNULL)
index = json.load(open(os.path.join(kdir, "index.json")))
theirs = next(iter(index.values()))


def kosoku_fail(cid, r):
    if r["behavior"] in ("UNIMPLEMENTED", "INFORMATIONAL"):
        return False
    if r["behavior"] == "FAILED" or r["behaviorClose"] == "FAILED":
        return True
    return cid.startswith("7.") and r["behaviorClose"] == "UNCLEAN"


def kosoku_verdict(cid, r):
    if r["behavior"] == "UNIMPLEMENTED":
        return "unimplemented"
    if r["behavior"] == "INFORMATIONAL":
        return "info"
    if kosoku_fail(cid, r):
        return "fail"
    if r["behavior"] == "NON-STRICT" or r["behaviorClose"] == "WRONG CODE":
        return "non-strict"
    return "pass"


both = sorted(set(mine) & set(theirs), key=lambda s: [int(x) if x.isdigit() else x for x in s.split(".")])
agree, exact, diffs, per_cat = 0, 0, [], {}
for cid in both:
    m = mine[cid]["verdict"] == "fail"
    k = kosoku_fail(cid, theirs[cid])
    exact += mine[cid]["verdict"] == kosoku_verdict(cid, theirs[cid])
    cat = cid.split(".")[0]
    tot = per_cat.setdefault(cat, [0, 0])
    tot[1] += 1
    if m == k:
        agree += 1
        tot[0] += 1
    else:
        diffs.append((cid, mine[cid]["verdict"], mine[cid]["detail"][:140], theirs[cid]["behavior"], theirs[cid]["behaviorClose"], theirs[cid]["remoteCloseCode"]))
print(f"{len(both)} cases run by both; pass/fail agree on {agree}; the same verdict (pass/non-strict/info/fail) on {exact}")
for cat, (ok, n) in sorted(per_cat.items(), key=lambda kv: int(kv[0])):
    print(f"  category {cat:>2}: {ok}/{n}")
for d in diffs:
    print("  differs: %s framescope=%s (%s) kosoku=%s/%s code=%s" % d)
print(f"only framescope: {len(set(mine) - set(theirs))}, only kosoku: {len(set(theirs) - set(mine))}")
sys.exit(0 if not diffs else 1)
