//! The command line as a user drives it: outputs, symbols, and every error path giving a clear
//! message, exit code 1 and no output file.

mod common;

use common::{fixtures, root};
use object::{Object, ObjectSymbol};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lamarrc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn case(name: &str) -> String {
    fixtures("keras").join(name).display().to_string()
}

fn exported(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    // The batched entry points of the default library are IFUNCs, which `object` does not
    // count as definitions.
    let defined = |s: &object::Symbol| {
        let ifunc = matches!(s.flags(), object::SymbolFlags::Elf { st_info, .. }
            if st_info & 0xf == object::elf::STT_GNU_IFUNC);
        (s.is_definition() || ifunc) && !s.is_undefined()
    };
    let syms: Vec<String> = if path.extension().is_some_and(|e| e == "so") {
        file.dynamic_symbols()
            .filter(|s| defined(s))
            .filter_map(|s| s.name().ok().map(str::to_owned))
            .collect()
    } else {
        file.symbols()
            .filter(|s| defined(s) && s.is_global())
            .filter_map(|s| s.name().ok().map(str::to_owned))
            .collect()
    };
    syms
}

#[test]
fn compile_so_writes_library_and_header() {
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("libgen.so");
    let o = lamarrc(&[
        "compile",
        &case("generator_two_inputs"),
        "--emit=so",
        "-o",
        so.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let syms = exported(&so);
    for s in [
        "generator_two_inputs",
        "generator_two_inputs_batch",
        "lamarrc_metadata",
    ] {
        assert!(syms.iter().any(|x| x == s), "{s} not exported: {syms:?}");
    }
    let h = std::fs::read_to_string(dir.path().join("libgen.h")).unwrap();
    assert!(
        h.contains("float* generator_two_inputs(float* out, const float* in, const float* noise);"),
        "{h}"
    );
    assert!(h.contains("#define GENERATOR_TWO_INPUTS_NUM_NOISE 6"));
}

#[test]
fn every_emit_kind_produces_its_file() {
    let dir = tempfile::tempdir().unwrap();
    for (emit, file, needle) in [
        ("obj", "m.o", None),
        // The default library has an x86-64-v3 and an x86-64-v4 variant of each function,
        // exported as IFUNCs.
        ("ll", "m.ll", Some("@residual = ifunc ptr (ptr, ptr)")),
        ("asm", "m.s", Some(".type\tresidual,@gnu_indirect_function")),
        ("bc", "m.bc", None),
        (
            "h",
            "m.h",
            Some("float* residual(float* out, const float* in);"),
        ),
    ] {
        let out = dir.path().join(file);
        let o = lamarrc(&[
            "compile",
            &case("residual"),
            &format!("--emit={emit}"),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{emit}: {}", stderr(&o));
        let bytes = std::fs::read(&out).unwrap();
        assert!(!bytes.is_empty(), "{emit}: empty output");
        if let Some(n) = needle {
            assert!(
                String::from_utf8_lossy(&bytes).contains(n),
                "{emit}: `{n}` missing"
            );
        }
        if emit == "obj" {
            let syms = exported(&out);
            assert!(syms.iter().any(|s| s == "residual_batch"), "{syms:?}");
        }
        if emit == "bc" {
            assert_eq!(&bytes[..2], b"BC", "bitcode magic");
        }
    }
}

#[test]
fn name_option_and_default_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.h");
    let o = lamarrc(&[
        "compile",
        &case("residual"),
        "--emit=h",
        "--name",
        "my_net",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("float* my_net(float* out"));
    // A .keras file passed directly is named after its directory when it is `model.keras`.
    let keras = fixtures("keras").join("residual/model.keras");
    let o = lamarrc(&[
        "compile",
        keras.to_str().unwrap(),
        "--emit=h",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("float* residual(float* out"));
    let o = lamarrc(&[
        "compile",
        &case("residual"),
        "--emit=h",
        "--name",
        "9bad-name",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not a valid C identifier"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn inspect_reports_keras_parameter_count() {
    for name in ["residual", "batchnorm", "nested_sequential", "prelu"] {
        let want = common::meta(&fixtures("keras").join(name))["count_params"]
            .as_u64()
            .unwrap();
        let o = lamarrc(&["inspect", &case(name)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("total parameters: {want}")),
            "{name}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn run_writes_outputs_matching_keras() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixtures("keras").join("generator_two_inputs");
    let out = dir.path().join("y.csv");
    let o = lamarrc(&[
        "run",
        d.to_str().unwrap(),
        "--input",
        d.join("input.npy").to_str().unwrap(),
        "--noise",
        d.join("noise.npy").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 65, "header + 64 rows");
    // Without noise, a generator draws it from N(0, 1) with a seed: reproducible.
    let run_seeded = |seed: &str, out: &Path| {
        let o = lamarrc(&[
            "run",
            d.to_str().unwrap(),
            "--input",
            d.join("input.npy").to_str().unwrap(),
            "--seed",
            seed,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("drawing its noise from N(0, 1) with seed"),
            "{}",
            stderr(&o)
        );
        std::fs::read(out).unwrap()
    };
    let a = run_seeded("7", &dir.path().join("a.npy"));
    let b = run_seeded("7", &dir.path().join("b.npy"));
    let c = run_seeded("8", &dir.path().join("c.npy"));
    assert_eq!(a, b, "same seed, same outputs");
    assert_ne!(a, c, "another seed, other outputs");
}

/// `--llvm-passes` swaps lamarrc's pass list for another (here LLVM's full -O3 pipeline), with
/// the same results; a pipeline LLVM does not know is refused, naming the option, no file left.
#[test]
fn llvm_passes_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixtures("keras").join("dense_sigmoid");
    let so = dir.path().join("libo3.so");
    let o = lamarrc(&[
        "compile",
        d.to_str().unwrap(),
        "--llvm-passes",
        "default<O3>",
        "-o",
        so.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lamarrc(&[
        "validate",
        d.to_str().unwrap(),
        "--lib",
        so.to_str().unwrap(),
        "--input",
        d.join("input.npy").to_str().unwrap(),
        "--reference",
        d.join("expected.npy").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let bad = dir.path().join("libbad.so");
    let o = lamarrc(&[
        "compile",
        d.to_str().unwrap(),
        "--llvm-passes",
        "no-such-pass",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("--llvm-passes `no-such-pass`") && e.contains("unknown pass name"),
        "{e}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bad"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn noise_is_standard_normal() {
    let n = lamarrc::cli::normal_noise(200_000, 3);
    let mean = n.iter().map(|&v| v as f64).sum::<f64>() / n.len() as f64;
    let var = n.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n.len() as f64;
    // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
    assert!(mean.abs() < 0.012, "mean {mean}");
    assert!((var - 1.0).abs() < 0.016, "variance {var}");
    assert!(n.iter().all(|v| v.is_finite()));
}

#[test]
fn feather_input_by_column_name_and_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixtures("keras").join("residual");
    // A Feather file whose columns are the model's inputs in reverse order plus an extra one.
    let (shape, x) = common::npy_f32(&d.join("input.npy"));
    let (rows, cols) = (shape[0], shape[1]);
    let names: Vec<String> = (0..cols)
        .rev()
        .map(|j| format!("x{j}"))
        .chain(["junk".to_string()])
        .collect();
    let data: Vec<f32> = (0..rows)
        .flat_map(|i| {
            (0..cols)
                .rev()
                .map(move |j| (i, j))
                .map(|(i, j)| x[i * cols + j])
                .chain([0.0])
        })
        .collect();
    let feather = dir.path().join("in.feather");
    lamarrc::data::feather::write_feather(&feather, &names, rows, &data).unwrap();
    let wanted: Vec<String> = (0..cols).map(|j| format!("x{j}")).collect();
    let report = dir.path().join("report.html");
    let o = lamarrc(&[
        "validate",
        d.to_str().unwrap(),
        "--input",
        feather.to_str().unwrap(),
        "--columns",
        &wanted.join(","),
        "--reference",
        d.join("expected.npy").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<svg").count(),
        3 * 3,
        "three panels per output"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("<script"),
        "self-contained"
    );
    // A missing column is named, with the ones the file has.
    let o = lamarrc(&[
        "run",
        d.to_str().unwrap(),
        "--input",
        feather.to_str().unwrap(),
        "--columns",
        "x0,nope",
        "-o",
        dir.path().join("y.npy").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("nope") && stderr(&o).contains("x4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn validate_fails_on_a_perturbed_reference() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixtures("keras").join("residual");
    let (shape, mut v) = common::npy(&d.join("expected.npy"));
    v[5] *= 1.01;
    let bad = dir.path().join("bad.npy");
    let m = lamarrc::data::Matrix::new(shape[0], shape[1], v.iter().map(|&x| x as f32).collect());
    lamarrc::data::write(&bad, &m).unwrap();
    let args = |r: &Path| {
        vec![
            "validate".to_string(),
            d.display().to_string(),
            "--input".into(),
            d.join("input.npy").display().to_string(),
            "--reference".into(),
            r.display().to_string(),
        ]
    };
    let ok = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .args(args(&d.join("expected.npy")))
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let o = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .args(args(&bad))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("1 of 192 values exceed"),
        "{}",
        stderr(&o)
    );
}

/// Runs `compile` on a broken input; asserts exit 1, the message parts, and no output file.
fn refuses(path: &Path, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("libx.so");
    let o = lamarrc(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    let left: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// Copies a real `.keras` archive, letting `edit` rewrite or drop members.
fn doctored(dir: &Path, name: &str, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> PathBuf {
    let src = fixtures("keras").join("residual/model.keras");
    let mut z = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let out = dir.join(name);
    let mut w = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let n = e.name().to_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        if let Some(b) = edit(&n, buf) {
            w.start_file(n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(&b).unwrap();
        }
    }
    w.finish().unwrap();
    out
}

#[test]
fn broken_inputs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    refuses(&d.join("missing"), &["missing", "cannot open"]);
    std::fs::create_dir(d.join("empty")).unwrap();
    refuses(&d.join("empty"), &["empty", "model.keras"]);
    std::fs::write(d.join("garbage.keras"), b"this is not a zip").unwrap();
    refuses(&d.join("garbage.keras"), &["garbage.keras", "zip"]);
    let real = std::fs::read(fixtures("keras").join("residual/model.keras")).unwrap();
    std::fs::write(d.join("truncated.keras"), &real[..real.len() / 2]).unwrap();
    refuses(&d.join("truncated.keras"), &["truncated.keras"]);
    let p = doctored(d, "noweights.keras", |n, b| {
        (n != "model.weights.h5").then_some(b)
    });
    refuses(&p, &["noweights.keras", "model.weights.h5"]);
    let p = doctored(d, "badjson.keras", |n, b| {
        Some(if n == "config.json" {
            b"{not json".to_vec()
        } else {
            b
        })
    });
    refuses(&p, &["badjson.keras", "config.json", "JSON"]);
    let p = doctored(d, "unknown.keras", |n, b| {
        Some(if n == "config.json" {
            String::from_utf8(b)
                .unwrap()
                .replacen("\"Add\"", "\"Conv2D\"", 1)
                .into_bytes()
        } else {
            b
        })
    });
    refuses(&p, &["unknown.keras", "Conv2D", "supported"]);
    let p = doctored(d, "units.keras", |n, b| {
        Some(if n == "config.json" {
            String::from_utf8(b)
                .unwrap()
                .replacen("\"units\": 16", "\"units\": 17", 1)
                .into_bytes()
        } else {
            b
        })
    });
    refuses(&p, &["units.keras", "Dense", "vars/0"]);
    let p = doctored(d, "badh5.keras", |n, b| {
        Some(if n == "model.weights.h5" {
            b[..b.len() / 3].to_vec()
        } else {
            b
        })
    });
    refuses(&p, &["badh5.keras", "model.weights.h5"]);
    let p = doctored(d, "garbageh5.keras", |n, b| {
        Some(if n == "model.weights.h5" {
            vec![7u8; 4096]
        } else {
            b
        })
    });
    refuses(&p, &["garbageh5.keras", "not an HDF5 file"]);
}

/// A chain's outputs beyond the tolerance that agree before the tY inverse are reported as
/// such and pass: the reference is the compiled chain's own output moved by 2e-5 relative before
/// tY's inverse (inside the network's 1e-5 + 1e-4 |z|), judged with a tolerance (1e-7) that
/// tY's steep segments amplify that past. Moved by 1e-2 it fails.
#[test]
fn validate_judges_a_chain_before_its_ty_inverse() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("examples/tracking/resolution");
    let so = dir.path().join("libres.so");
    let o = lamarrc(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        so.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let check = model.join("check");
    let (shape, x) = common::npy_f32(&check.join("input.npy"));
    let (_, r) = common::npy_f32(&check.join("noise.npy"));
    let rows = shape[0];
    let lib = lamarrc_runtime::Library::open(&so).unwrap();
    let y = lib
        .entry("resolution")
        .unwrap()
        .call_batch(&[&x, &r], rows)
        .unwrap();
    let z = lib
        .entry("resolution_tY")
        .unwrap()
        .call_batch(&[&y], rows)
        .unwrap();
    let reference = |name: &str, moved: &dyn Fn(f32) -> f32| {
        let zm: Vec<f32> = z.iter().map(|&v| moved(v)).collect();
        let yr = lib
            .entry("resolution_tY_inverse")
            .unwrap()
            .call_batch(&[&zm], rows)
            .unwrap();
        let p = dir.path().join(name);
        lamarrc::data::write(&p, &lamarrc::data::Matrix::new(rows, 9, yr)).unwrap();
        p
    };
    let near = reference("near.npy", &|v| v * (1.0 + 2e-5));
    let far = reference("far.npy", &|v| v + 1e-2);
    let validate = |r: &Path| {
        lamarrc(&[
            "validate",
            model.to_str().unwrap(),
            "--lib",
            so.to_str().unwrap(),
            "--input",
            check.join("input.npy").to_str().unwrap(),
            "--noise",
            check.join("noise.npy").to_str().unwrap(),
            "--reference",
            r.to_str().unwrap(),
            "--atol",
            "1e-7",
            "--rtol",
            "1e-7",
        ])
    };
    let o = validate(&near);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("which agree before the tY inverse"), "{out}");
    let o = validate(&far);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("values exceed the tolerance"),
        "{}",
        stderr(&o)
    );
}
