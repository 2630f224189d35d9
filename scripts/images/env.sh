# shellcheck shell=bash
# Source this before calling podman on this checkout's images (`make images` and `make image-test` do):
#   source scripts/images/env.sh
# podman then reads the configuration scripts/images/prepare.sh writes, and keeps its images, layers and
# run state under build/containers/ (git-ignored), never in /var/lib/containers.
STOKER_CONTAINERS_DIR="${STOKER_CONTAINERS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/containers}"
export STOKER_CONTAINERS_DIR
export CONTAINERS_CONF="$STOKER_CONTAINERS_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$STOKER_CONTAINERS_DIR/storage.conf"
