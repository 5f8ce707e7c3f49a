//! Reproducibility: two separate `lamarrc compile` processes on the same inputs write
//! byte-identical outputs (`.so` with its header, `.o`, `.ll`, and a function-multiversioned
//! `.so`). The two runs use different working and output directories, so nothing may depend on
//! where they run, nor on how many CPUs the compiler may use (one run is pinned to one core with
//! `taskset`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Models with every kind of step: a tracking model (quantile tables, a ColumnTransformer, a
/// generator with noise, a tY), a Keras fixture with merge layers, and a lone pickle.
fn inputs() -> Vec<PathBuf> {
    let r = root();
    vec![
        r.join("examples/tracking/resolution"),
        r.join("tests/fixtures/keras/merge_layers"),
        r.join("tests/fixtures/sklearn/pipeline_nested/estimator.pkl"),
    ]
}

fn compile(work: &Path, args: &[&str], out: &str) -> Vec<u8> {
    let cwd = work.join("cwd");
    let out_dir = work.join("out");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(out);
    let o = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .current_dir(&cwd)
        .arg("compile")
        .args(inputs())
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "lamarrc compile {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(&out).unwrap()
}

/// Compiles twice in fresh directories and compares; returns both header files for `.so`.
fn twice(args: &[&str], out: &str) {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (x, y) = std::thread::scope(|s| {
        let hx = s.spawn(|| compile(a.path(), args, out));
        let hy = s.spawn(|| compile(b.path(), args, out));
        (hx.join().unwrap(), hy.join().unwrap())
    });
    assert!(!x.is_empty(), "{args:?}: empty output");
    if x != y {
        let first = x.iter().zip(&y).position(|(p, q)| p != q);
        panic!(
            "{args:?}: outputs differ ({} and {} bytes, first difference at byte {first:?})",
            x.len(),
            y.len()
        );
    }
    if out.ends_with(".so") {
        let h = |d: &Path| std::fs::read(d.join("out").join(out).with_extension("h")).unwrap();
        assert_eq!(h(a.path()), h(b.path()), "{args:?}: headers differ");
    }
}

#[test]
fn shared_library_is_reproducible() {
    twice(&["--emit=so"], "libmodels.so");
}

#[test]
fn object_file_is_reproducible() {
    twice(&["--emit=obj"], "models.o");
}

#[test]
fn llvm_ir_is_reproducible() {
    twice(&["--emit=ll"], "models.ll");
}

#[test]
fn multiversioned_library_is_reproducible() {
    twice(
        &["--emit=so", "--target-cpu=x86-64-v2,x86-64-v3,x86-64-v4"],
        "libmodels_mv.so",
    );
}

#[test]
fn shared_library_does_not_depend_on_the_core_count() {
    let dir = tempfile::tempdir().unwrap();
    let so = |pinned: bool, name: &str| -> Vec<u8> {
        let out = dir.path().join(name);
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(env!("CARGO_BIN_EXE_lamarrc"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        };
        let o = cmd
            .arg("compile")
            .args(inputs())
            .arg("-o")
            .arg(&out)
            .output()
            .expect("taskset (util-linux) runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(&out).unwrap()
    };
    assert!(
        so(true, "one.so") == so(false, "all.so"),
        "the .so depends on the number of cores"
    );
}
