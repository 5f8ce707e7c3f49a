#!/usr/bin/env bash
# Installs what lamarrc needs on a Debian machine (12 "bookworm" or newer): LLVM 19, HDF5, a C
# compiler driver for linking shared libraries, and a Rust toolchain if there is none.
set -euo pipefail

pkgs=(llvm-19-dev libpolly-19-dev libzstd-dev zlib1g-dev libhdf5-dev pkg-config gcc libc6-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: no Rust toolchain; install one with rustup (https://rustup.rs) and re-run" >&2
        exit 1
    fi
fi
echo "setup: ok ($(cargo --version), LLVM $(/usr/lib/llvm-19/bin/llvm-config --version))"
