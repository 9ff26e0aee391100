#!/usr/bin/env bash
# Install the Debian 12 packages qrun needs to build and test. Needs root (run with sudo).
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          protobuf-c-compiler libprotobuf-c-dev libcjson-dev zlib1g-dev
          libcmocka-dev libonnx-testdata)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]} (run: sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
