#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, built at run time from the shared images and data
(`../shared`, or $BULWARK_SHARED) and the repository's own test fixtures; nothing of the
shared data is committed. Usage: seeds.py OUTDIR (one sub-directory per target)."""

import gzip, hashlib, io, json, os, re, shutil, subprocess, sys, tarfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BULWARK_SHARED") or os.path.join(os.path.dirname(REPO), "shared")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "fuzz", "corpus")
MAX_SEED = 1 << 20  # libFuzzer's -max_len follows the largest seed: keep them small
counts = {}


def seed(target, data, limit=30, max_size=MAX_SEED):
    if len(data) > max_size or counts.get(target, 0) >= limit:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1


def read(path):
    with open(path, "rb") as f:
        return f.read()


# Files inside image layers, by path: (target, selector byte or None, size limit).
def file_target(path, mode, head):
    name = path.rsplit("/", 1)[-1]
    if path in ("var/lib/dpkg/status",) or path.startswith("var/lib/dpkg/status.d/"):
        return ("dpkg", None)
    if path.endswith("apk/db/installed"):
        return ("apk", None)
    if name in ("rpmdb.sqlite", "Packages", "Packages.db") and "/rpm/" in "/" + path:
        return ("rpm", {"rpmdb.sqlite": 0, "Packages": 1, "Packages.db": 2}[name])
    if name == "METADATA" and path.split("/")[-2].lower().endswith("dist-info"):
        return ("python", 0)
    if name == "PKG-INFO" and path.split("/")[-2].lower().endswith("egg-info"):
        return ("python", 1)
    if "node_modules/" not in path:
        lock = {"package-lock.json": 0, "yarn.lock": 1, "pnpm-lock.yaml": 2}.get(name)
        if lock is not None:
            return ("npm_lock", lock)
    if name == "package.json":
        return ("npm_lock", 3)
    if name == "Cargo.lock":
        return ("cargo_lock", None)
    if name.endswith(".gemspec") and "/specifications/" in "/" + path:
        return ("gemspec", None)
    if name == "composer.lock":
        return ("composer_lock", None)
    if name.endswith(".deps.json"):
        return ("deps_json", None)
    if name.lower().endswith((".jar", ".war")):
        return ("java", None)
    if mode & 0o111 and head.startswith(b"\x7fELF"):
        return ("binary", None)
    return None


LIMITS = {"binary": (3, 16 << 20), "java": (10, 4 << 20), "rpm": (5, 16 << 20), "npm_lock": (40, MAX_SEED)}


def add_file(path, mode, data):
    t = file_target(path, mode, data[:4])
    if not t:
        return
    target, sel = t
    limit, max_size = LIMITS.get(target, (30, MAX_SEED))
    seed(target, (bytes([sel]) if sel is not None else b"") + data, limit, max_size)


def images():
    root = os.path.join(SHARED, "images")
    for name in sorted(os.listdir(root)):
        oci = os.path.join(root, name, "oci")
        if os.path.isfile(os.path.join(oci, "index.json")):
            yield name, oci


def blob(oci, digest):
    return read(os.path.join(oci, "blobs", digest.replace(":", "/")))


def image_seeds():
    for name, oci in images():
        index = json.loads(read(os.path.join(oci, "index.json")))
        for m in index.get("manifests", []):
            mbytes = blob(oci, m["digest"])
            manifest = json.loads(mbytes)
            if "config" not in manifest:
                continue
            cfg = blob(oci, manifest["config"]["digest"])
            # The oci target substitutes @MD/@MS/@CD/@CS with the real digests and sizes.
            mtext = mbytes.decode().replace(manifest["config"]["digest"], "@CD")
            mtext = re.sub(r'("digest":\s*"@CD",\s*"size":\s*)\d+', r"\g<1>@CS", mtext)
            itext = read(os.path.join(oci, "index.json")).decode().replace(m["digest"], "@MD")
            itext = re.sub(r'("digest":\s*"@MD",\s*"size":\s*)\d+', r"\g<1>@MS", itext)
            seed("oci", itext.encode() + b"\0" + mtext.encode() + b"\0" + cfg)
            for layer in manifest.get("layers", []):
                data = blob(oci, layer["digest"])
                seed("layer", data, 10)
                if not layer.get("mediaType", "").endswith("zstd"):
                    walk_layer(data)


def walk_layer(data):
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for m in tar:
                if m.isfile() and m.size <= (16 << 20):
                    f = tar.extractfile(m)
                    if f:
                        add_file(m.name.lstrip("./"), m.mode, f.read())
    except (tarfile.TarError, OSError, EOFError):
        pass


def small_layers():
    """Hand-made layers: a whiteout, a hard link, an opaque directory, gzip and zstd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name, data=b"", kind=tarfile.REGTYPE, link=""):
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.linkname, ti.mode = kind, len(data), link, 0o644
            tar.addfile(ti, io.BytesIO(data) if data else None)
        add("var/lib/dpkg/status", b"Package: bash\nStatus: install ok installed\nVersion: 5.2-1\nArchitecture: amd64\n\n")
        add("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n")
        add("etc/.wh.passwd")
        add("opt/.wh..wh..opq")
        add("var/lib/dpkg/status-link", kind=tarfile.LNKTYPE, link="var/lib/dpkg/status")
        add("etc/os-release", b'ID=debian\nVERSION_ID="12"\n')
    tar = buf.getvalue()
    seed("layer", tar)
    seed("layer", gzip.compress(tar))
    if shutil.which("zstd"):
        seed("layer", subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=True).stdout)


def fixtures():
    for base in ("crates/bulwark-cli/tests/fixtures", "crates/bulwark-catalog/tests/fixtures"):
        for dirpath, _, files in os.walk(os.path.join(REPO, base)):
            for f in files:
                p = os.path.join(dirpath, f)
                rel = os.path.relpath(p, os.path.join(REPO, base))
                # Fixtures keep gemspecs beside the test, not under specifications/.
                if f.endswith(".gemspec"):
                    rel = "specifications/" + f
                add_file(rel, os.stat(p).st_mode, read(p))


def advisories():
    import zipfile
    osv = os.path.join(SHARED, "data", "osv")
    for eco in sorted(os.listdir(osv)):
        z = os.path.join(osv, eco, "all.zip")
        if not os.path.isfile(z):
            continue
        with zipfile.ZipFile(z) as zf:
            names = sorted(zf.namelist())[:8]
            for n in names:
                seed("osv", zf.read(n), 60)
            # A small all.zip of a few of them, for the zip path.
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as small:
                for n in names[:3]:
                    small.writestr(n, zf.read(n))
            seed("osv", out.getvalue(), 60)
    secdb = os.path.join(SHARED, "data", "alpine-secdb")
    for v in sorted(os.listdir(secdb)):
        for f in sorted(os.listdir(os.path.join(secdb, v))):
            data = read(os.path.join(secdb, v, f))
            # Whole files are large: the head of each, cut at a package boundary.
            text = data.decode("utf-8", "replace")
            cut = text.find("\n  - pkg:", 8000)
            seed("alpine_secdb", (text[:cut] if cut > 0 else text).encode())
    for f in ("DSA.list", "DLA.list"):
        text = read(os.path.join(SHARED, "data", "debian-security-tracker", f)).decode("utf-8", "replace")
        blocks = re.split(r"\n(?=\[)", text)
        for i in range(0, min(len(blocks), 400), 40):
            seed("debian_list", "\n".join(blocks[i:i + 40]).encode() + b"\n")


def signing():
    cosign = os.path.join(SHARED, "data", "cosign")
    for d in ("policy-controller-keys", "sigstore-rs-keys"):
        for f in sorted(os.listdir(os.path.join(cosign, d))):
            seed("cosign_key", read(os.path.join(cosign, d, f)))
    bundles = []
    for dirpath, _, files in os.walk(cosign):
        for f in files:
            if f.endswith(".sigstore.json") or f == "bundle.json":
                bundles.append(os.path.join(dirpath, f))
    for p in sorted(bundles):
        data = read(p)
        seed("sigstore_bundle", data, 60)
        try:
            b = json.loads(data)
        except ValueError:
            continue
        env = b.get("dsseEnvelope")
        if env:
            seed("dsse", b"\0" + json.dumps(env).encode())
            import base64
            try:
                seed("dsse", b"\1" + base64.b64decode(env.get("payload", "")))
            except ValueError:
                pass


def registry():
    for s in [
        b"\0team-a/app/manifests/1.0", b"\0team-a/app/blobs/sha256:" + b"a" * 64, b"\0a/b/c/blobs/uploads/",
        b"\0team-a/app/blobs/uploads/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", b"\0team-a/app/tags/list",
        b"\0team-a/app/referrers/sha256:" + b"0" * 64, b"\0team-a/app/manifests/sha256-" + b"0" * 64 + b".sig",
        b"\1bytes=0-1023", b"\1bytes=-500", b"\1bytes=100-", b"\2bytes 0-1023/4096", b"\x020-99",
        b"\3repository:team-a/app:pull,push repository:team-b/x:pull", b"\3registry:catalog:*",
        b"\4YWxpY2U6czNjcmV0", b"\5library/ubuntu", b"\5v1.2.3-rc_1",
    ]:
        seed("registry_request", s)
    claims = {"iss": "bulwark-registry", "sub": "alice", "aud": "bulwark-registry", "exp": 4102444800,
              "nbf": 1700000000, "iat": 1700000000, "jti": "x",
              "access": [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]}
    seed("registry_jwt", b"\1" + json.dumps(claims).encode())
    seed("registry_jwt", b"\0eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    seed("registry_jwt", b"\2Basic YWxpY2U6czNjcmV0")
    seed("registry_jwt", b"\2Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")


image_seeds()
small_layers()
fixtures()
advisories()
signing()
registry()
for t in sorted(counts):
    print(f"{t}: {counts[t]} seeds")
