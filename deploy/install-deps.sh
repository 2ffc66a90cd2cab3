#!/usr/bin/env bash
# Installs the Debian packages Dockyard's tests and demo need, only those missing.
# Idempotent; needs root. Package names only: apt uses the machine's own sources.
set -euo pipefail
PKGS=(etcd-server docker.io docker-registry busybox-static debootstrap iptables ipset iperf3 iproute2
      python3-venv python3-pip curl ca-certificates
      chromium)  # the browser the console's e2e test drives with Playwright (no download)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
