#!/usr/bin/env bash
# Prepare this machine to build and run Stoker's images with podman, with no Docker daemon and no
# container registry (the Dockerfiles themselves stay as they would be anywhere):
#   1. podman, buildah, runc and debootstrap from apt, when one is missing;
#   2. containers.conf and storage.conf under build/containers/ (scripts/images/env.sh points podman at
#      them): runc with cgroupfs and explicit ulimits, storage in that folder;
#   3. localhost/debian:bookworm-slim, a Debian minbase rootfs made with debootstrap from this machine's
#      apt mirror, with its apt sources and its extra CA certificates (a TLS-intercepting proxy signs
#      HTTPS here), cached as an OCI archive so that empty storage is refilled in seconds;
#   4. a Python 3.11 stand-in tagged as each Dockerfile's default `FROM`, so that they build unchanged
#      with `--pull=never`.
# Idempotent: a second run takes a few seconds. STOKER_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/images/env.sh
source scripts/images/env.sh
dir="$STOKER_CONTAINERS_DIR"
base=localhost/debian:bookworm-slim
started=$SECONDS
log() { printf '[images] %s\n' "$*"; }

# 1. Tools.
missing=()
for tool in podman buildah runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  log "installing podman buildah runc debootstrap (missing: ${missing[*]})"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends podman buildah runc debootstrap >/dev/null
fi

# 2. Configuration. Storage that was removed takes its run state with it.
mkdir -p "$dir/cache"
if [ ! -d "$dir/storage" ]; then
  rm -rf "$dir/run" "$dir/tmp"
fi
cat >"$CONTAINERS_CONF" <<CONF
# Written by scripts/images/prepare.sh. With the stock configuration \`podman run\` fails here: crun
# cannot set the default rlimits and does not support this machine's hybrid cgroup setup.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
tmp_dir = "$dir/tmp"
CONF
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
# Written by scripts/images/prepare.sh: this checkout's images and layers, apart from the system's.
[storage]
driver = "${STOKER_STORAGE_DRIVER:-overlay}"
runroot = "$dir/run"
graphroot = "$dir/storage"
CONF

# 3. The Debian base.
debian_mirror() {
  if [ -n "${STOKER_DEBIAN_MIRROR:-}" ]; then
    echo "$STOKER_DEBIAN_MIRROR"
    return
  fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do # deb822: a stanza whose Suites include bookworm
    [ -f "$f" ] || continue
    uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; s = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s = 1
        }
        if (s && u != "") { print u; exit } }' "$f")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  uri=$(grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    sed -E 's/\[[^]]*\]//' | awk '$3 == "bookworm" { print $2; exit }' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Host apt source files that the base can use as they are (every key they name is in the base).
usable_sources() {
  local rootfs=$1 f key ok
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] && grep -qE '^[[:space:]]*(deb[[:space:]]|Types:)' "$f" || continue
    ok=1
    for key in $(grep -ohE '(signed-by=|Signed-By:[[:space:]]*)/[^] ,]+' "$f" | sed -E 's/^(signed-by=|Signed-By:[[:space:]]*)//'); do
      [ -e "$rootfs$key" ] || ok=0
    done
    if ((ok)); then echo "$f"; else log "not copying $f: a key it names is not in the base" >&2; fi
  done
}

extra_cas=(/usr/local/share/ca-certificates/*)
[ -e "${extra_cas[0]}" ] || extra_cas=()
mirror=$(debian_mirror)
# The cached base is reused while the mirror, the CA certificates and this recipe stay the same.
key=$({
  echo "recipe 1 $mirror"
  sed -n '/^# 3\. The Debian base\./,/^# 4\./p' "$0"
  ((${#extra_cas[@]})) && cat "${extra_cas[@]}"
} | sha256sum | cut -c1-12)
archive="$dir/cache/debian-bookworm-slim-$key.oci.tar"

base_key() { podman image inspect --format '{{index .Labels "dev.stoker.base-key"}}' "$base" 2>/dev/null || true; }

if [ "$(base_key)" = "$key" ]; then
  log "$base is up to date"
elif [ -s "$archive" ]; then
  log "loading $base from $archive"
  loaded=$(podman load --quiet --input "$archive" | sed -nE 's/^Loaded image(\(s\))?: //p' | head -n1)
  [ -z "$loaded" ] || [ "$loaded" = "$base" ] || podman tag "$loaded" "$base"
else
  rootfs="$dir/rootfs"
  rm -rf "$rootfs"
  log "debootstrap bookworm (minbase) from $mirror"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -n 30 "$dir/debootstrap.log" >&2
    exit 1
  fi
  if findmnt -rno TARGET | grep -q "^$rootfs"; then
    echo "something is still mounted under $rootfs" >&2
    exit 1
  fi
  # Slim, as Debian's own -slim images are, and stay slim when later layers install packages.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CONF
  cat >"$rootfs/etc/apt/apt.conf.d/slim" <<'CONF'
Acquire::Languages "none";
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" # no services start in a build
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  mapfile -t sources < <(usable_sources "$rootfs")
  if ((${#sources[@]})); then
    rm -f "$rootfs/etc/apt/sources.list"
    for f in "${sources[@]}"; do
      mkdir -p "$rootfs$(dirname "$f")"
      cp "$f" "$rootfs$f"
    done
  fi
  if ((${#extra_cas[@]})); then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp -a "${extra_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
  fi
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$rootfs" -c . |
    podman import --quiet --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
      --change "LABEL dev.stoker.base-key=$key" - "$base" >/dev/null
  rm -rf "$rootfs"
  rm -f "$dir"/cache/debian-bookworm-slim-*.oci.tar
  podman save --quiet --format oci-archive --output "$archive.part" "$base"
  mv "$archive.part" "$archive"
  log "made $base ($(du -h "$archive" | cut -f1) archive)"
fi
[ "$(base_key)" = "$key" ] || { echo "$base was not made" >&2; exit 1; }

# 4. Stand-ins for the Dockerfiles' default base images (their `ARG BASE_IMAGE=` lines).
mapfile -t defaults < <(sed -nE 's/^ARG BASE_IMAGE=([^[:space:]]+).*/\1/p' services/*/Dockerfile | sort -u)
tags=()
for image in "${defaults[@]}"; do
  tags+=(--tag "$image")
done
mkdir -p "$dir/standin-context"
log "stand-ins: ${defaults[*]}"
if ! podman build --pull=never --network host --layers --build-arg BASE="$base" \
  --file scripts/images/standin.Containerfile "${tags[@]}" "$dir/standin-context" >"$dir/standin.log" 2>&1; then
  tail -n 40 "$dir/standin.log" >&2
  exit 1
fi
log "ready in $((SECONDS - started)) s (source scripts/images/env.sh to use this podman storage)"
