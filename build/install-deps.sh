#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine (as root).
# Idempotent: a machine that has everything skips apt entirely.
set -euo pipefail

packages=(
  iproute2                    # ip -j: the oracle for the netlink tests; ip -batch for benchmarks
  iptables nftables conntrack # masquerade, portmap, conntrack cleanup
  etcd-server etcd-client     # a real etcd v3 for the lease store tests
  containernetworking-plugins # the reference CNI plugins, the oracle for ours
  iputils-ping iperf3         # connectivity and throughput checks across namespaces
  jq curl util-linux          # reference CNI benchmark plumbing; HTTP checks; nsenter
  clang zlib1g-dev            # Native AOT linker toolchain
  podman runc busybox-static  # a real CNI runtime drives the plugins (conformance Podman test); make image; the DaemonSet test
  mmdebstrap                  # make image: the Debian 12 base of the container image, from Debian's packages
  frr                         # a real BGP top-of-rack router (zebra + bgpd run per test namespace, never as the service)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing ${missing[*]}; run as root (apt-get install) or install them yourself" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
