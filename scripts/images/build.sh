#!/usr/bin/env bash
# Build both images from this checkout with one tag, with podman and no registry (run prepare.sh first):
#   localhost/stoker-api:TAG and localhost/stoker-worker:TAG, both also tagged :dev.
# TAG is the commit's short hash, with "-dirty" when what goes into the images (packages/, services/,
# constraints.txt, scripts/images/deps.py, .dockerignore) differs from that commit; STOKER_IMAGE_TAG overrides it.
# The worker gets the CPU torch wheel from this machine's pip find-links folder (`pip config list`,
# PIP_FIND_LINKS, or STOKER_TORCH_WHEELS), mounted read-only into the build: the only index reachable
# here is PyPI, whose torch is the CUDA build. With no such folder it uses the CPU wheel index.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/images/env.sh
source scripts/images/env.sh
log() { printf '[images] %s\n' "$*"; }
if [ ! -f "$CONTAINERS_CONF" ]; then
  echo "no podman configuration at $CONTAINERS_CONF: run scripts/images/prepare.sh first" >&2
  exit 1
fi
started=$SECONDS

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
tag="${STOKER_IMAGE_TAG:-}"
if [ -z "$tag" ]; then
  tag=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
  inputs=(packages services constraints.txt scripts/images/deps.py .dockerignore)
  if [ -n "$(git status --porcelain --untracked-files=all -- "${inputs[@]}" 2>/dev/null)" ]; then
    tag="$tag-dirty"
  fi
fi

torch_version=$(sed -nE 's/^torch==([^[:space:]#]+).*/\1/p' constraints.txt)
wheels="${STOKER_TORCH_WHEELS:-}"
if [ -z "$wheels" ]; then
  # shellcheck disable=SC2086 # find-links holds space-separated folders
  for folder in ${PIP_FIND_LINKS:-} $(python3 -m pip config list 2>/dev/null | sed -nE "s/^[^=]*find-links='(.*)'$/\1/p"); do
    folder="${folder#file://}"
    if compgen -G "$folder/torch-${torch_version}+cpu-*.whl" >/dev/null; then
      wheels="$folder"
      break
    fi
  done
fi
if [ -n "$wheels" ]; then
  log "worker: torch ${torch_version}+cpu from $wheels"
  torch=(--volume "$wheels:/wheels:ro" --build-arg PIP_FIND_LINKS=/wheels
    --build-arg TORCH_INDEX_URL="${STOKER_TORCH_INDEX_URL:-}")
else
  log "worker: torch $torch_version from the CPU wheel index"
  torch=(--build-arg TORCH_INDEX_URL="${STOKER_TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}")
fi

# What an image is built from: its Dockerfile and the files it copies, the build arguments, the base
# image. podman's layer cache alone takes most of a minute to confirm that nothing changed (it hashes
# the worker's 1.6 GB virtualenv for the COPY --from), so an image whose label holds this digest is
# kept as it is. STOKER_IMAGE_REBUILD=1 runs podman build anyway.
inputs_digest() {
  local service=$1 base
  shift
  base=$(sed -nE 's/^ARG BASE_IMAGE=([^[:space:]]+).*/\1/p' "services/$service/Dockerfile")
  {
    echo "inputs 1"
    printf '%s\n' "$@"
    podman image inspect --format '{{.Id}}' "$base"
    if [ -n "$wheels" ]; then ls -l "$wheels"/torch-*.whl; fi
    find constraints.txt .dockerignore scripts/images/deps.py packages/queue "services/$service" \
      \( -name __pycache__ -o -name '*.egg-info' -o -name build -o -name dist -o -name '.*_cache' \) -prune \
      -o -type f ! -name '*.py[co]' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-64
}

common=(--pull=never --network host --layers --build-arg VERSION="$tag" --build-arg REVISION="$revision")
build_one() {
  local service=$1 image="localhost/stoker-$1" digest built t=$SECONDS
  local args=("${common[@]}")
  [ "$service" = worker ] && args+=("${torch[@]}")
  digest=$(inputs_digest "$service" "${args[@]}") || return 1
  built=$(podman image inspect --format '{{index .Labels "dev.stoker.inputs"}}' "$image:$tag" 2>/dev/null || true)
  if [ "$built" = "$digest" ] && [ "${STOKER_IMAGE_REBUILD:-0}" != 1 ]; then
    podman tag "$image:$tag" "$image:dev" || return 1
    log "$image:$tag is up to date"
    return 0
  fi
  log "building $image:$tag"
  podman build "${args[@]}" --label "dev.stoker.inputs=$digest" --file "services/$service/Dockerfile" \
    --tag "$image:$tag" --tag "$image:dev" . || return 1
  log "$image built in $((SECONDS - t)) s"
}

for service in api worker; do
  build_one "$service" || exit 1
done
podman images --filter reference='localhost/stoker-*' --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}'
log "built tag $tag in $((SECONDS - started)) s"
