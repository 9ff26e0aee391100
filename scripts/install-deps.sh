#!/usr/bin/env bash
# Install the Debian 12 packages qrun needs to build and test. Installing needs root:
# run it as root, or as a user with sudo (it then asks sudo for the apt-get steps).
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          protobuf-c-compiler libprotobuf-c-dev libcjson-dev zlib1g-dev
          libjpeg62-turbo-dev libpng-dev
          libcmocka-dev libonnx-testdata
          # scripts/fuzz.sh and scripts/test.sh --tsan: clang with its sanitizer and libFuzzer
          # runtimes (libclang-rt is only a Recommends of clang) and LLVM's OpenMP with Archer.
          clang libclang-rt-14-dev libomp-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: root is needed to install: ${missing[*]} (run this script as root)" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
