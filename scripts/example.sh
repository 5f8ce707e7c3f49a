#!/usr/bin/env bash
# The main job on the bundled example: installs prerequisites (Debian), builds lamarrc, compiles
# the four LHCb-shaped tracking models into one shared library with its header, and checks every
# exported function against the reference outputs made by Keras + scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh

cargo build --release --quiet
L=target/release/lamarrc
models=(acceptance efficiency resolution covariance)
mkdir -p build

start=$(date +%s.%N)
$L compile "${models[@]/#/examples/tracking/}" --emit=so -o build/libLamarr.so
end=$(date +%s.%N)
echo "compiled 4 models in $(echo "$end - $start" | bc) s"

for m in "${models[@]}"; do
    d=examples/tracking/$m
    noise=()
    [ -f "$d/check/noise.npy" ] && noise=(--noise "$d/check/noise.npy")
    echo "== $m: whole chain (tX -> network -> tY inverse) from build/libLamarr.so"
    $L validate "$d" --lib build/libLamarr.so \
        --input "$d/check/input.npy" "${noise[@]}" --reference "$d/check/expected.npy"
done
echo
echo "build/libLamarr.so and build/libLamarr.h are ready; see README.md for calling them from C, C++ and Python."
