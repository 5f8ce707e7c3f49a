//! Concurrency: the four tracking models compiled into one shared library, every exported entry
//! point (the chains and their sub-steps) computed serially first, then called from 16 threads at
//! once — each thread in its own order, row and batched calls, batches over varying row ranges,
//! row calls with `out` aliasing the input buffer — and compared bit for bit with the serial
//! results. The generated code keeps no mutable state (checked below on the library's symbol
//! table), so any difference would be a race in code we did not expect to share anything.
//!
//! Under ThreadSanitizer (see TESTING.md) this also checks the Rust side (loading, `Entry`).

mod common;

use lamarrc::driver;
use lamarrc_runtime::{Entry, Library};
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

const MODELS: [&str; 4] = ["acceptance", "efficiency", "resolution", "covariance"];
const THREADS: usize = 16;
const ITERATIONS: usize = 6;

fn tracking(model: &str) -> PathBuf {
    common::root().join("examples/tracking").join(model)
}

/// One entry point with its inputs and the serial reference outputs.
struct Job {
    entry: Entry,
    inputs: Vec<Vec<f32>>,
    rows: usize,
    reference: Vec<f32>,
}

/// Deterministic rows in [-2.5, 2.5] (a 64-bit LCG), for sub-steps without a check file.
fn synthetic(rows: usize, width: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..rows * width)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 5.0 - 2.5
        })
        .collect()
}

fn npy_rows(path: &Path, width: usize) -> (usize, Vec<f32>) {
    let (shape, v) = common::npy_f32(path);
    assert_eq!(shape[1], width, "{}: width", path.display());
    (shape[0], v)
}

/// Inputs for an entry: the check files for `NAME`, `NAME_dnn` and `NAME_tX` (which takes the raw
/// input), synthetic rows for the other sub-steps.
fn inputs_for(entry: &Entry) -> (usize, Vec<Vec<f32>>) {
    let name = entry.info.name.as_str();
    let widths = &entry.info.inputs;
    for m in MODELS {
        let check = tracking(m).join("check");
        if name == m || name == format!("{m}_tX") {
            let (rows, x) = npy_rows(&check.join("input.npy"), widths[0]);
            let mut ins = vec![x];
            if widths.len() > 1 {
                let (r, noise) = npy_rows(&check.join("noise.npy"), widths[1]);
                assert_eq!(r, rows);
                ins.push(noise);
            }
            return (rows, ins);
        }
        if name == format!("{m}_dnn") {
            // A generator's `NAME_dnn` takes `[features, noise]` in one buffer.
            let (f_rows, feats) = common::npy_f32(&check.join("dnn_input.npy"));
            let fw = feats.len() / f_rows[0];
            if fw == widths[0] {
                return (f_rows[0], vec![feats]);
            }
            let (rows, noise) = npy_rows(&check.join("noise.npy"), widths[0] - fw);
            let nw = widths[0] - fw;
            let x = (0..rows)
                .flat_map(|r| {
                    let f = &feats[r * fw..(r + 1) * fw];
                    f.iter().chain(&noise[r * nw..(r + 1) * nw]).copied()
                })
                .collect();
            return (rows, vec![x]);
        }
    }
    let rows = 97; // not a multiple of any tile height
    let ins = widths
        .iter()
        .enumerate()
        .map(|(k, &w)| synthetic(rows, w, name.len() as u64 * 31 + k as u64))
        .collect();
    (rows, ins)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn row_of(job: &Job, r: usize) -> Vec<&[f32]> {
    job.inputs
        .iter()
        .zip(&job.entry.info.inputs)
        .map(|(x, &w)| &x[r * w..(r + 1) * w])
        .collect()
}

/// Calls the row entry point with `out` and the first input sharing one buffer.
fn call_aliased(job: &Job, r: usize) -> Vec<f32> {
    let info = &job.entry.info;
    let (w_in, w_out) = (info.inputs[0], info.outputs);
    let mut buf = vec![0f32; w_in.max(w_out)];
    buf[..w_in].copy_from_slice(&job.inputs[0][r * w_in..(r + 1) * w_in]);
    let p = buf.as_mut_ptr();
    type Row1 = extern "C" fn(*mut f32, *const f32) -> *mut f32;
    type Row2 = extern "C" fn(*mut f32, *const f32, *const f32) -> *mut f32;
    // SAFETY: the address is the library's row entry point, whose metadata gives these widths
    // (checked by the serial pass through `Entry::call`); `buf` holds max(in, out) floats, and
    // the ABI allows `out` to alias `in`.
    let ret = unsafe {
        match info.inputs.len() {
            1 => std::mem::transmute::<usize, Row1>(job.entry.addr.row)(p, p),
            2 => {
                let w = info.inputs[1];
                let noise = job.inputs[1][r * w..(r + 1) * w].as_ptr();
                std::mem::transmute::<usize, Row2>(job.entry.addr.row)(p, p, noise)
            }
            n => panic!("{}: {n} inputs", info.name),
        }
    };
    assert_eq!(ret, p, "{}: the entry point must return `out`", info.name);
    buf.truncate(w_out);
    buf
}

fn build_library(dir: &Path) -> PathBuf {
    let paths: Vec<PathBuf> = MODELS.iter().map(|m| tracking(m)).collect();
    let models = driver::load_models(&paths, None).unwrap();
    let module = driver::build_module(&models).unwrap();
    let ctx = inkwell::context::Context::create();
    let built = lamarrc::codegen::build(&ctx, &module, &Default::default()).unwrap();
    let so = dir.join("libtracking.so");
    lamarrc::codegen::link_shared(&built.object().unwrap(), &so).unwrap();
    so
}

#[test]
fn sixteen_threads_agree_bit_for_bit_with_serial_calls() {
    let dir = tempfile::tempdir().unwrap();
    let so = build_library(dir.path());
    assert_no_writable_lamarrc_data(&so);
    let lib = Library::open(&so).unwrap();
    let names: Vec<&str> = lib.entries().iter().map(|e| e.info.name.as_str()).collect();
    // The tX steps contain a ColumnTransformer, so they have no `_tX_inverse`; only resolution
    // and covariance have a tY.
    for m in MODELS {
        let with_ty = matches!(m, "resolution" | "covariance");
        for s in ["", "_tX", "_dnn", "_tY", "_tY_inverse"] {
            if s.starts_with("_tY") && !with_ty {
                continue;
            }
            let n = format!("{m}{s}");
            assert!(names.contains(&n.as_str()), "`{n}` missing: {names:?}");
        }
    }
    assert_eq!(names.len(), 16, "{names:?}");

    // Serial reference: batched over all rows, and row by row (which must agree).
    let jobs: Vec<Job> = lib
        .entries()
        .iter()
        .map(|e| {
            let (rows, inputs) = inputs_for(e);
            let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
            let reference = e.call_batch(&refs, rows).unwrap();
            let mut job = Job {
                entry: e.clone(),
                inputs,
                rows,
                reference,
            };
            let o = e.info.outputs;
            for r in 0..rows {
                let one = e.call(&row_of(&job, r)).unwrap();
                assert_eq!(
                    bits(&one),
                    bits(&job.reference[r * o..(r + 1) * o]),
                    "{}: serial row {r} differs from the batched result",
                    e.info.name
                );
                assert_eq!(
                    bits(&call_aliased(&job, r)),
                    bits(&one),
                    "{}: serial row {r} with `out` aliasing `in` differs",
                    e.info.name
                );
            }
            job.reference.shrink_to_fit();
            job
        })
        .collect();

    let mismatches = AtomicUsize::new(0);
    let calls = AtomicUsize::new(0);
    let first: Mutex<Option<String>> = Mutex::new(None);
    let barrier = Barrier::new(THREADS);
    let report = |what: String| {
        mismatches.fetch_add(1, Ordering::Relaxed);
        first.lock().unwrap().get_or_insert(what);
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (jobs, barrier, report, calls) = (&jobs, &barrier, &report, &calls);
            s.spawn(move || {
                // A different order per thread: a rotation and, for odd threads, a reversal.
                let mut order: Vec<usize> = (0..jobs.len()).collect();
                order.rotate_left((t * 7) % jobs.len());
                if t % 2 == 1 {
                    order.reverse();
                }
                barrier.wait();
                for it in 0..ITERATIONS {
                    for (j, &k) in order.iter().enumerate() {
                        let job = &jobs[k];
                        let (o, name) = (job.entry.info.outputs, &job.entry.info.name);
                        match (t + it + j) % 3 {
                            0 => {
                                // A batch over rows a..b: varying starts and tails.
                                let a = (t + it) % 5;
                                let b = job.rows - (t * 3 + it) % 7;
                                let ins: Vec<&[f32]> = job
                                    .inputs
                                    .iter()
                                    .zip(&job.entry.info.inputs)
                                    .map(|(x, &w)| &x[a * w..b * w])
                                    .collect();
                                let y = job.entry.call_batch(&ins, b - a).unwrap();
                                if bits(&y) != bits(&job.reference[a * o..b * o]) {
                                    report(format!("{name}: thread {t} batch rows {a}..{b}"));
                                }
                            }
                            1 => {
                                for r in (t % 5..job.rows).step_by(5) {
                                    let y = job.entry.call(&row_of(job, r)).unwrap();
                                    if bits(&y) != bits(&job.reference[r * o..(r + 1) * o]) {
                                        report(format!("{name}: thread {t} row {r}"));
                                    }
                                }
                            }
                            _ => {
                                for r in ((t + 2) % 7..job.rows).step_by(7) {
                                    let y = call_aliased(job, r);
                                    if bits(&y) != bits(&job.reference[r * o..(r + 1) * o]) {
                                        report(format!("{name}: thread {t} aliased row {r}"));
                                    }
                                }
                            }
                        }
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(
        mismatches.load(Ordering::Relaxed),
        0,
        "concurrent results differ from serial ones; first: {:?}",
        first.lock().unwrap()
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        THREADS * ITERATIONS * jobs.len()
    );
}

/// Symbols the C runtime objects and the linker put in writable sections of every shared
/// library (crtbeginS.o, crtendS.o, ld): none of them is generated code.
const LINKER_SYMBOLS: &[&str] = &[
    "__dso_handle",
    "__TMC_END__",
    "completed.0",
    "_DYNAMIC",
    "_GLOBAL_OFFSET_TABLE_",
    "__data_start",
    "data_start",
    "__bss_start",
    "_edata",
    "_end",
];

/// No symbol of the library lives in `.data`, `.bss` or thread-local storage except the
/// linker's own; those sections stay tiny (weights are `.rodata`).
fn assert_no_writable_lamarrc_data(so: &Path) {
    let data = std::fs::read(so).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let writable = [".data", ".bss", ".tdata", ".tbss"];
    let mut found = Vec::new();
    for sym in file.symbols().chain(file.dynamic_symbols()) {
        let Some(idx) = sym.section_index() else {
            continue;
        };
        let section = file.section_by_index(idx).unwrap();
        let sname = section.name().unwrap_or("");
        let name = sym.name().unwrap_or("");
        if writable.contains(&sname) && !LINKER_SYMBOLS.contains(&name) {
            found.push(format!("{name} in {sname} ({} bytes)", sym.size()));
        }
    }
    assert!(
        found.is_empty(),
        "{}: writable data defined by the generated code: {found:?}",
        so.display()
    );
    for s in file.sections() {
        let name = s.name().unwrap_or("");
        assert!(
            !name.starts_with(".tdata") && !name.starts_with(".tbss"),
            "{}: thread-local section {name}",
            so.display()
        );
        if name == ".data" || name == ".bss" {
            assert!(
                s.size() <= 64,
                "{}: {name} holds {} bytes",
                so.display(),
                s.size()
            );
        }
    }
}

/// The same check on a function-multiversioned library (IFUNC dispatch at load time), built by
/// the command line.
#[test]
fn multiversioned_library_has_no_writable_data() {
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("libacc.so");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lamarrc"))
        .arg("compile")
        .arg(tracking("acceptance"))
        .arg("--target-cpu=x86-64-v2,x86-64-v3,x86-64-v4")
        .arg("-o")
        .arg(&so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_no_writable_lamarrc_data(&so);
}
