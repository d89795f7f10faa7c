#!/usr/bin/env python3
"""Independent oracle for `bulwark scan` on the shared images: which OSV records in
../shared/data/osv affect each package, computed without any of Bulwark's matching code.

Version order comes from each ecosystem's reference implementation: dpkg itself
(`dpkg --compare-versions`), PyPA's `packaging` (PEP 440), python-semver (SemVer 2.0, for
the SEMVER ranges of npm, crates.io and Go), and plain numeric tuples for the Maven records
(asserted to be plain dotted numbers). Range semantics follow the OSV schema's
"Evaluation" section. The inventories are `bulwark sbom -f json` of each image, whose
package sets the accuracy test already holds equal to Syft's.

    pip install packaging==26.0 semver==3.0.4   # or what is at hand
    python3 tests/facts/scan/oracle.py INVENTORY_DIR > tests/facts/scan/expected.json

INVENTORY_DIR holds <image>.json from `bulwark sbom oci-dir:…/<image>/oci:<tag> -f json`.
"""
import functools
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.version import Version
import semver

OSV = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "osv"


@functools.lru_cache(maxsize=None)
def dpkg_cmp(a, b):
    if a == b:
        return 0
    lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
    if lt:
        return -1
    eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
    return 0 if eq else 1


def pep440_cmp(a, b):
    va, vb = Version(a), Version(b)
    return (va > vb) - (va < vb)


def semver_cmp(a, b):
    return semver.Version.parse(a.lstrip("v")).compare(b.lstrip("v"))


def maven_cmp(a, b):
    # Enough of Maven's ComparableVersion for these records: dotted numbers, then an
    # optional alpha/beta/milestone/rc/snapshot qualifier with a number, which sorts
    # before the release (2.4.0-rc1 < 2.4.0).
    order = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "milestone": 2, "m": 2, "rc": 3, "cr": 3, "snapshot": 4}

    def parse(v):
        m = re.fullmatch(r"(\d+(?:\.\d+)*)(?:[-.]?([a-zA-Z]+)[-.]?(\d*))?", v)
        assert m, f"oracle handles plain Maven versions only: {v}"
        nums = [int(x) for x in m.group(1).split(".")]
        while nums and nums[-1] == 0:
            nums.pop()
        q = m.group(2)
        if q is None or q.lower() in ("ga", "final", "release"):
            return nums, (5, 0)
        assert q.lower() in order, f"oracle does not know qualifier {q} in {v}"
        return nums, (order[q.lower()], int(m.group(3) or 0))

    pa, pb = parse(a), parse(b)
    return (pa > pb) - (pa < pb)


ECO_CMP = {"Debian": dpkg_cmp, "PyPI": pep440_cmp, "Maven": maven_cmp, "npm": semver_cmp, "crates.io": semver_cmp, "Go": semver_cmp}


def affected(version, aff, eco):
    if version in aff.get("versions", []):
        return True
    for rng in aff.get("ranges", []):
        if rng["type"] == "SEMVER":
            cmp = semver_cmp
        elif rng["type"] == "ECOSYSTEM":
            cmp = ECO_CMP[eco.split(":")[0]]
        else:
            continue
        # OSV "Evaluation": sort events by version; introduced "0" first.
        evs = []
        for e in rng["events"]:
            (k, v), = e.items()
            evs.append((k, v))
        key = functools.cmp_to_key(lambda x, y: -1 if x[1] == "0" and x[0] == "introduced" else 1 if y[1] == "0" and y[0] == "introduced" else cmp(x[1], y[1]))
        evs.sort(key=key)
        if any(k == "limit" and v != "*" and cmp(version, v) >= 0 for k, v in evs):
            continue
        vuln = False
        for k, v in evs:
            if k == "introduced" and (v == "0" or cmp(version, v) >= 0):
                vuln = True
            elif k == "fixed" and cmp(version, v) >= 0:
                vuln = False
            elif k == "last_affected" and cmp(version, v) > 0:
                vuln = False
        if vuln:
            return True
    return False


def load(eco):
    out = {}
    with zipfile.ZipFile(OSV / eco / "all.zip") as z:
        for n in z.namelist():
            r = json.loads(z.read(n))
            if r.get("withdrawn"):
                continue
            for a in r.get("affected", []):
                p = a.get("package") or {}
                name = p.get("name", "")
                if p.get("ecosystem", "").startswith("PyPI"):
                    name = re.sub(r"[-_.]+", "-", name).lower()
                out.setdefault((p.get("ecosystem"), name), []).append((r["id"], a))
    return out


def query(p):
    t, name, ver = p["type"], p["name"], p["version"]
    if t == "deb":
        m = re.search(r"distro=debian-(\d+)", p.get("purl", ""))
        src = p.get("source") or {}
        return f"Debian:{m.group(1)}", src.get("name", name), src.get("version", ver)
    if t == "python":
        return "PyPI", re.sub(r"[-_.]+", "-", name).lower(), ver
    if t == "npm":
        return "npm", name, ver
    if t == "rust-crate":
        return "crates.io", name, ver
    if t == "java-archive" and p.get("namespace"):
        return "Maven", f"{p['namespace']}:{name}", ver
    if t == "go-module":
        return "Go", name, ver[2:] if name == "stdlib" else ver.lstrip("v")
    return None


def main():
    inv_dir = Path(sys.argv[1])
    dbs = {}
    result = {}
    for f in sorted(inv_dir.glob("*.json")):
        inv = json.load(open(f))
        rows = []
        for p in inv["packages"]:
            q = query(p)
            if not q:
                continue
            eco, name, ver = q
            base = eco.split(":")[0]
            if base not in dbs:
                dbs[base] = load(base)
            ids = sorted({rid for rid, a in dbs[base].get((eco, name), []) if affected(ver, a, eco)})
            if ids:
                rows.append({"type": p["type"], "name": p["name"], "version": p["version"], "path": p["location"]["path"], "records": ids})
        rows.sort(key=lambda r: (r["path"], r["name"], r["version"]))
        result[f.stem] = rows
    json.dump(result, sys.stdout, indent=1)
    print()


main()
