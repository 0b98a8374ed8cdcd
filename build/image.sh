#!/usr/bin/env bash
# Builds the container image localhost/twill:dev from the binaries already in out/ (make build),
# on a Debian 12 base made here from Debian's packages: no image registry is reached.
#   base:  mmdebstrap (variant essential + iptables, nftables, conntrack, libssl3) | podman import,
#          as localhost/twill-base:bookworm, once (kept while its io.twill.packages label is this
#          script's package list: REBASE=1 rebuilds it anyway)
#   image: podman build -f deploy/Containerfile --build-arg BASE=<base>, labelled with the hash of
#          the binaries it holds (io.twill.binaries), so a test can tell a stale image from a fresh one.
# Podman's flags are this machine's (docs/kubernetes.md, "The image"): runc with cgroupfs, and
# ulimits the session may set.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/twill:dev}
BASE_IMAGE=${BASE_IMAGE:-localhost/twill-base:bookworm}
SUITE=${SUITE:-bookworm}
CNI_TYPES=${CNI_TYPES:-flannel bridge host-local portmap loopback}
OUT=${OUT:-$PWD/out}
podman=(podman --runtime runc --cgroup-manager cgroupfs)

for f in "$OUT/bin/twill" $(for t in $CNI_TYPES; do echo "$OUT/cni/$t"; done); do
  [[ -x $f ]] || { echo "image: $f is missing: run \`make build\` first" >&2; exit 1; }
done
for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "image: $tool not found (make deps installs it)" >&2; exit 1; }
done

# What the binaries run or load besides libc and libm: the firewall tools, and OpenSSL, which .NET
# loads at run time for TLS (the agent's https to the API server).
PACKAGES=iptables,nftables,conntrack,libssl3
have=$("${podman[@]}" image inspect --format '{{index .Labels "io.twill.packages"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [[ -z ${REBASE:-} && $have == "$PACKAGES" ]]; then
  echo "image: base $BASE_IMAGE present"
else
  tar=$(mktemp "$OUT/twill-base.XXXXXX.tar")
  trap 'rm -f "$tar"' EXIT
  echo "image: building $BASE_IMAGE from Debian $SUITE packages (mmdebstrap: $PACKAGES)"
  mmdebstrap --quiet --variant=essential --include="$PACKAGES" "$SUITE" "$tar"
  "${podman[@]}" import --quiet --change "LABEL io.twill.packages=$PACKAGES" "$tar" "$BASE_IMAGE" >/dev/null
  rm -f "$tar"
fi

# A small context: the binaries only (out/ also holds the publish trees).
ctx="$OUT/image"
rm -rf "$ctx"
mkdir -p "$ctx/bin" "$ctx/cni"
# Hard links: no copy, and the CNI types (one multi-call binary) stay one file in the image.
cp -l "$OUT/bin/twill" "$ctx/bin/twill"
for t in $CNI_TYPES; do cp -l "$OUT/cni/$t" "$ctx/cni/$t"; done
old=$("${podman[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
hash=$(cat "$ctx/bin/twill" $(for t in $CNI_TYPES; do echo "$ctx/cni/$t"; done) | sha256sum | cut -d' ' -f1)
"${podman[@]}" build --quiet --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --build-arg BASE="$BASE_IMAGE" --label io.twill.binaries="$hash" \
  -f deploy/Containerfile -t "$IMAGE" "$ctx" >/dev/null
rm -rf "$ctx"
# The image this one replaced, now untagged: removed (unless a container still uses it).
new=$("${podman[@]}" image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $old && $old != "$new" ]]; then "${podman[@]}" rmi "$old" >/dev/null 2>&1 || true; fi
echo "image: $IMAGE built on $BASE_IMAGE (binaries $hash)"
