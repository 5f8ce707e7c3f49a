//! Function multiversioning: one library with x86-64-v2, v3 and v4 code, the variant picked by
//! an IFUNC resolver (cpuid + xgetbv) when the library is loaded. Every level must compute the
//! same function; the exported names must be IFUNCs; weights are stored once.

mod common;

use common::*;
use object::{Object, ObjectSymbol};
use std::process::Command;

fn compile(args: &[&str], out: &std::path::Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .arg("compile")
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn check(lib: &std::path::Path, case: &str) {
    let d = fixtures("keras").join(case);
    let (shape, x) = npy_f32(&d.join("input.npy"));
    let (_, r) = npy_f32(&d.join("noise.npy"));
    let l = lamarrc_runtime::Library::open(lib).unwrap();
    let y: Vec<f64> = l
        .entry(case)
        .unwrap()
        .call_batch(&[&x, &r], shape[0])
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let (w, i) = worst(&y, &npy(&d.join("expected.npy")).1, 1e-5, 1e-4);
    assert!(
        w <= 1.0,
        "{}: output {i} off ({w:.1}x the tolerance)",
        lib.display()
    );
}

/// `name` is exported as an IFUNC.
fn assert_ifunc(file: &object::File, name: &str) {
    let sym = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("{name} not exported"));
    let object::SymbolFlags::Elf { st_info, .. } = sym.flags() else {
        panic!("not ELF")
    };
    assert_eq!(
        st_info & 0xf,
        object::elf::STT_GNU_IFUNC,
        "{name} is not an IFUNC"
    );
}

#[test]
fn one_library_for_every_x86_64_level() {
    let dir = tempfile::tempdir().unwrap();
    let case = fixtures("keras").join("generator_two_inputs");
    let multi = dir.path().join("libmulti.so");
    compile(
        &[
            case.to_str().unwrap(),
            "--target-cpu=x86-64-v2,x86-64-v3,x86-64-v4",
        ],
        &multi,
    );
    check(&multi, "generator_two_inputs");
    let data = std::fs::read(&multi).unwrap();
    let file = object::File::parse(&*data).unwrap();
    for name in ["generator_two_inputs", "generator_two_inputs_batch"] {
        assert_ifunc(&file, name);
    }
    // Each level compiled on its own computes the same function (the ones this CPU can run).
    let level = lamarrc::codegen::TargetSpec::native().shape().vector_bits;
    for (cpu, bits) in [("x86-64-v2", 128), ("x86-64-v3", 256), ("x86-64-v4", 512)] {
        if bits > level {
            eprintln!(
                "{cpu}: this CPU cannot run it; checked through the IFUNC on capable machines only"
            );
            continue;
        }
        let single = dir.path().join(format!("lib{bits}.so"));
        compile(
            &[case.to_str().unwrap(), &format!("--target-cpu={cpu}")],
            &single,
        );
        check(&single, "generator_two_inputs");
    }
    // A level the resolver cannot select is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .args([
            "compile",
            case.to_str().unwrap(),
            "--target-cpu=x86-64-v3,znver4",
            "-o",
        ])
        .arg(dir.path().join("x.so"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("znver4"));
}

/// The default library: x86-64-v3 and x86-64-v4 variants of every function, the best picked at
/// load time. Every exported function is an IFUNC; whichever variant this CPU gets computes
/// the single-variant x86-64-v3 library's results bit for bit (the same sums in the same
/// order, lane by lane), row by row and batched (37 rows: whole tiles and a remainder).
#[test]
fn the_default_library_has_an_avx512_variant() {
    let dir = tempfile::tempdir().unwrap();
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tracking/resolution");
    let default = dir.path().join("libdefault.so");
    let v3 = dir.path().join("libv3.so");
    compile(&[model.to_str().unwrap()], &default);
    compile(&[model.to_str().unwrap(), "--target-cpu=x86-64-v3"], &v3);
    let data = std::fs::read(&default).unwrap();
    let file = object::File::parse(&*data).unwrap();
    for name in [
        "resolution",
        "resolution_batch",
        "resolution_dnn",
        "resolution_tX_batch",
    ] {
        assert_ifunc(&file, name);
    }
    let check = model.join("check");
    let (_, x) = npy_f32(&check.join("input.npy"));
    let (_, r) = npy_f32(&check.join("noise.npy"));
    let rows = 37;
    let (x, r) = (&x[..rows * 12], &r[..rows * 128]);
    let d = lamarrc_runtime::Library::open(&default).unwrap();
    let s = lamarrc_runtime::Library::open(&v3).unwrap();
    let bits = |v: &[f32]| v.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
    let batch = d
        .entry("resolution")
        .unwrap()
        .call_batch(&[x, r], rows)
        .unwrap();
    let single = s
        .entry("resolution")
        .unwrap()
        .call_batch(&[x, r], rows)
        .unwrap();
    assert_eq!(bits(&batch), bits(&single), "default vs x86-64-v3 library");
    for i in 0..rows {
        let (xi, ri) = (&x[i * 12..][..12], &r[i * 128..][..128]);
        let row = d.entry("resolution").unwrap().call(&[xi, ri]).unwrap();
        let row3 = s.entry("resolution").unwrap().call(&[xi, ri]).unwrap();
        assert_eq!(bits(&row), bits(&batch[i * 9..][..9]), "row {i} vs batch");
        assert_eq!(bits(&row), bits(&row3), "row {i} vs x86-64-v3 library");
    }
}
