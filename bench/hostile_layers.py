#!/usr/bin/env python3
"""Write a one-layer OCI layout (gzip) of one of the hostile inputs of issue 10, D2.

usage: hostile_layers.py paths N LEN DIR   N package.json files (and N plain files) at paths of
                                           about LEN bytes each (GNU long names)
       hostile_layers.py status N DIR      a /var/lib/dpkg/status of N packages
The image is tagged `t`.
"""
import gzip, hashlib, io, json, os, sys, tarfile


def add(t, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1764000000
    t.addfile(info, io.BytesIO(data))


def layer(kind, args):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        if kind == "paths":
            n, length = int(args[0]), int(args[1])
            seg = "d" * 200 + "/"
            long = seg * (length // len(seg) + 1)
            for i in range(n):
                add(t, f"app/{i}/{long}node_modules/p{i}/package.json", f'{{"name":"p{i}","version":"1.0.0"}}'.encode())
                add(t, f"app/{i}/{long}plain.txt", b"x")
        else:
            n = int(args[0])
            add(t, "etc/os-release", b'ID=debian\nVERSION_ID="12"\n')
            status = "".join(f"Package: p{i}\nStatus: install ok installed\nVersion: 1.{i}\n\n" for i in range(n))
            add(t, "var/lib/dpkg/status", status.encode())
    return buf.getvalue()


def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{d}/blobs/sha256", exist_ok=True)
    with open(f"{d}/blobs/sha256/{h}", "wb") as f:
        f.write(data)
    return "sha256:" + h


kind, out = sys.argv[1], sys.argv[-1]
tar = layer(kind, sys.argv[2:-1])
blob = gzip.compress(tar, compresslevel=6, mtime=0)
os.makedirs(out, exist_ok=True)
with open(f"{out}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(out, config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(out, blob), "size": len(blob)}],
}).encode()
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": put(out, manifest), "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "t"}}]}
with open(f"{out}/index.json", "w") as f:
    json.dump(index, f)
print(f"{len(tar)} {len(blob)}")
