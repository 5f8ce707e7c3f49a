#!/usr/bin/env bash
# lamarrc benchmark: one command, one table.  Usage: bench/run.sh
#   (a) venv bench/.venv with bench/requirements.txt (reused while requirements.txt is unchanged)
#   (b) cargo build --release of lamarrc
#   (c) baselines from their published packages: scikinC (LHCb notebook recipe) and ONNX
#   (d) lamarrc compile of the 4 tracking models into one .so, timed (wall clock)
#   (e) harness (C, dlopen) + ONNX Runtime timings, then the table (bench/out/results.md)
# Knobs (environment): BENCH_CALLS (default 20000, calls per repetition), BENCH_REPS (default 5),
# BENCH_CPU (CPU to pin to; default the last one), PYTHON (interpreter for the venv), CC.
# No timing assertions: it records and prints numbers; it fails only if something cannot be built or run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
OUT="$HERE/out"
VENV="$HERE/.venv"
CALLS="${BENCH_CALLS:-20000}"
REPS="${BENCH_REPS:-5}"
CPU="${BENCH_CPU:-$(($(nproc) - 1))}"
CC="${CC:-cc}"
MODELS=(acceptance efficiency resolution covariance)
T_START=$(date +%s)

step() { printf '\n== %s (%ds)\n' "$*" "$(($(date +%s) - T_START))"; }
mkdir -p "$OUT"

# ---- (a) venv --------------------------------------------------------------------------
step "python venv: $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    PY="${PYTHON:-}"
    if [ -z "$PY" ]; then
        for c in python3.11 python3.12 python3; do command -v "$c" >/dev/null 2>&1 && { PY="$c"; break; }; done
    fi
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$VENV/.installed" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.installed"; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$VENV/.installed"
fi
"$VENV/bin/python" --version

# ---- (b) lamarrc -----------------------------------------------------------------------
step "cargo build --release"
(cd "$REPO" && cargo build --release --quiet)
LAMARRC="${CARGO_TARGET_DIR:-$REPO/target}/release/lamarrc"
[ -x "$LAMARRC" ] || { echo "no $LAMARRC" >&2; exit 1; }

# ---- (c) baselines ---------------------------------------------------------------------
step "baselines: scikinC (+ gcc -O3) and ONNX export"
TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" "$HERE/build_baselines.py" --repo "$REPO" --out "$OUT" 2> "$OUT/build_baselines.log" \
    || { cat "$OUT/build_baselines.log" >&2; exit 1; }

# ---- (d) lamarrc compile, timed ---------------------------------------------------------
step "lamarrc compile (4 models, one .so), timed"
SO="$OUT/lamarrc/libtracking.so"
mkdir -p "$OUT/lamarrc"
DIRS=()
for m in "${MODELS[@]}"; do DIRS+=("$REPO/examples/tracking/$m"); done
TIMES=()
for i in 1 2 3; do
    t0=$(date +%s%N)
    "$LAMARRC" compile "${DIRS[@]}" --emit=so ${LAMARRC_TARGET_CPU:+--target-cpu=$LAMARRC_TARGET_CPU} -o "$SO" > "$OUT/lamarrc/compile.log" 2>&1 \
        || { cat "$OUT/lamarrc/compile.log" >&2; exit 1; }
    t1=$(date +%s%N)
    TIMES+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
done
echo "compile wall clock (s): ${TIMES[*]}"
"$LAMARRC" inspect "${DIRS[@]}" > "$OUT/lamarrc/inspect.txt"
# params per model from `lamarrc inspect` ("model `NAME`" ... "total parameters: N")
PARAMS_JSON=$(awk '/^model `/ { gsub(/[`]/, "", $2); m = $2 } /total parameters:/ { printf "%s\"%s\": %s", sep, m, $NF; sep = ", " }' "$OUT/lamarrc/inspect.txt")
cat > "$OUT/lamarrc.json" <<EOF
{"so_path": "$SO", "compile_s": [$(IFS=,; echo "${TIMES[*]}")],
 "compile_cmd": "lamarrc compile examples/tracking/{$(IFS=,; echo "${MODELS[*]}")} --emit=so ${LAMARRC_TARGET_CPU:+--target-cpu=$LAMARRC_TARGET_CPU} -o libtracking.so",
 "params": {$PARAMS_JSON}}
EOF

# ---- (e) measurements -------------------------------------------------------------------
step "harness (C): scikinC vs lamarrc, batched lamarrc, stack, FMA peak"
"$CC" -O2 -mavx2 -mfma -o "$OUT/harness" "$HERE/harness.c" -ldl -lpthread -lm
"$OUT/harness" --lamarrc "$SO" --scikinc "$OUT/scikinc/libscikinc.so" \
    --check-root "$REPO/examples/tracking" --models "$(IFS=,; echo "${MODELS[*]}")" \
    --reps "$REPS" --calls "$CALLS" --cpu "$CPU" --json "$OUT/harness.json"

step "ONNX Runtime (Python, 1 thread)"
"$VENV/bin/python" "$HERE/ort_bench.py" --onnx-dir "$OUT/onnx" --check-root "$REPO/examples/tracking" \
    --reps "$REPS" --calls "$CALLS" --cpu "$CPU" --json "$OUT/ort.json"

step "table"
"$VENV/bin/python" "$HERE/report.py" --out "$OUT"
echo "(written to $OUT/results.md; total $(($(date +%s) - T_START)) s)"
