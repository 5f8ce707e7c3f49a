//! The C ABI from C: a program built with the system C compiler `dlopen`s a library compiled by
//! lamarrc, calls each entry point through its header's prototype (row by row, with `out`
//! aliasing `in`, and batched) and writes the outputs, which must match Keras.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const PROGRAM: &str = r#"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib.h"

static float* read_all(const char* path, size_t n) {
    float* b = malloc(n * sizeof(float));
    FILE* f = fopen(path, "rb");
    if (!f || fread(b, sizeof(float), n, f) != n) { perror(path); exit(2); }
    fclose(f);
    return b;
}

int main(int argc, char** argv) {
    /* argv: lib, rows, input, noise, out_rows, out_batch */
    void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    size_t rows = strtoul(argv[2], 0, 10);
    const size_t ni = GENERATOR_TWO_INPUTS_NUM_INPUTS, nr = GENERATOR_TWO_INPUTS_NUM_NOISE,
                 no = GENERATOR_TWO_INPUTS_NUM_OUTPUTS;
    float* in = read_all(argv[3], rows * ni);
    float* noise = read_all(argv[4], rows * nr);
    float* out = calloc(rows * no, sizeof(float));
    typedef float* (*row_fn)(float*, const float*, const float*);
    typedef float* (*batch_fn)(float*, const float*, const float*, size_t);
    row_fn f = (row_fn)dlsym(h, "generator_two_inputs");
    batch_fn fb = (batch_fn)dlsym(h, "generator_two_inputs_batch");
    if (!f || !fb) return 4;
    for (size_t r = 0; r < rows; ++r) {
        /* out aliases in: the row buffer holds the inputs and receives the outputs */
        float buf[GENERATOR_TWO_INPUTS_NUM_INPUTS > GENERATOR_TWO_INPUTS_NUM_OUTPUTS ? GENERATOR_TWO_INPUTS_NUM_INPUTS : GENERATOR_TWO_INPUTS_NUM_OUTPUTS];
        memcpy(buf, in + r * ni, ni * sizeof(float));
        if (f(buf, buf, noise + r * nr) != buf) return 5;
        memcpy(out + r * no, buf, no * sizeof(float));
    }
    FILE* o = fopen(argv[5], "wb"); fwrite(out, sizeof(float), rows * no, o); fclose(o);
    memset(out, 0, rows * no * sizeof(float));
    if (fb(out, in, noise, rows) != out) return 6;
    o = fopen(argv[6], "wb"); fwrite(out, sizeof(float), rows * no, o); fclose(o);
    const char* meta = (const char*)dlsym(h, "lamarrc_metadata");
    if (!meta || strncmp(meta, "lamarrc-metadata 1\n", 19) != 0) return 7;
    return 0;
}
"#;

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
        .collect()
}

#[test]
fn generator_called_from_c_matches_keras() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let case = fixtures("keras").join("generator_two_inputs");
    let so = d.join("lib.so");
    let o = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .args([
            "compile",
            case.to_str().unwrap(),
            "--emit=so",
            "-o",
            so.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("main.c"), PROGRAM).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let o = Command::new(&cc)
        .current_dir(d)
        .args([
            "-std=c99", "-Wall", "-Werror", "-O1", "main.c", "-o", "main", "-ldl",
        ])
        .output()
        .expect("a C compiler (cc) is needed for this test; scripts/setup.sh installs gcc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (shape, x) = npy_f32(&case.join("input.npy"));
    let (_, r) = npy_f32(&case.join("noise.npy"));
    write_f32(&d.join("in.bin"), &x);
    write_f32(&d.join("noise.bin"), &r);
    let o = Command::new(d.join("main"))
        .arg(&so)
        .arg(shape[0].to_string())
        .args([
            d.join("in.bin"),
            d.join("noise.bin"),
            d.join("rows.bin"),
            d.join("batch.bin"),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "C program failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, expected) = npy(&case.join("expected.npy"));
    let rows = read_f32(&d.join("rows.bin"));
    let batch = read_f32(&d.join("batch.bin"));
    let (w, i) = worst(&rows, &expected, 1e-5, 1e-4);
    assert!(
        w <= 1.0,
        "row calls differ from Keras at {i}: {} vs {}",
        rows[i],
        expected[i]
    );
    assert_eq!(
        rows, batch,
        "batched and row-by-row calls must agree bit for bit"
    );
}
