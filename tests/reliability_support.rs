//! Helpers shared by the `reliability_*` tests (included with `#[path]`; as a test target of its
//! own it holds no tests): running the `lamarrc` binary under a memory limit and a hang guard.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this is killed and fails the test. Generous: it catches hangs,
/// not slowness (most corpus cases take well under a second; in a debug build on a loaded 2-core
/// machine the 3 GiB bz2 bomb and the nested-calls model take ~10 s each).
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Address-space limit for the compiler process (`ulimit -v`, KiB): a runaway allocation fails
/// (an abort, which the tests catch) instead of eating the machine.
pub const MEMORY_LIMIT_KIB: u64 = 4 * 1024 * 1024;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn broken(rel: &str) -> PathBuf {
    root().join("tests/fixtures/broken").join(rel)
}

/// What a limited run gave.
#[derive(Debug)]
pub struct Run {
    /// `None` when killed by a signal (an abort on a failed allocation, a crash).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `lamarrc ARGS` with `ulimit -v MEMORY_LIMIT_KIB`, killing it after `guard`. Output goes
/// to files in `log_dir` (so that a chatty child never blocks on a full pipe).
pub fn lamarrc_limited<S: AsRef<OsStr>>(args: &[S], log_dir: &Path, guard: Duration) -> Run {
    let out_path = log_dir.join("stdout.txt");
    let err_path = log_dir.join("stderr.txt");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v "$0" && exec "$@""#)
        .arg(MEMORY_LIMIT_KIB.to_string())
        .arg(env!("CARGO_BIN_EXE_lamarrc"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn sh");
    let start = Instant::now();
    let status =
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > guard {
                // `sh` exec'd lamarrc, so this pid is the compiler itself.
                let _ = child.kill();
                let _ = child.wait();
                let err = std::fs::read_to_string(&err_path).unwrap_or_default();
                panic!(
                "lamarrc {:?} still running after {guard:?} (hang guard); stderr so far:\n{err}",
                args.iter().map(|a| a.as_ref().to_owned()).collect::<Vec<_>>()
            );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
    let elapsed = start.elapsed();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        elapsed,
    }
}

/// `lamarrc compile INPUT -o OUT_DIR/libout.so` under the limits; asserts the refusal contract:
/// exit code 1, stderr starting with `error: ` and naming `file`, every word of `words`, no
/// panic, no internal error, nothing left in the output directory. Returns the run.
pub fn refuses(input: &Path, file: &str, words: &[&str]) -> Run {
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    let log_dir = work.path().join("log");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::create_dir(&log_dir).unwrap();
    let out = out_dir.join("libout.so");
    let args = [
        OsStr::new("compile"),
        input.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    let run = lamarrc_limited(&args, &log_dir, HANG_GUARD);
    let err = &run.stderr;
    let what = input.display();
    assert_eq!(
        run.code,
        Some(1),
        "{what}: expected exit code 1 (killed by a signal if None); stderr:\n{err}"
    );
    assert!(err.starts_with("error: "), "{what}: stderr:\n{err}");
    assert!(!err.contains("panicked"), "{what}: panic:\n{err}");
    assert!(
        !err.contains("internal error"),
        "{what}: internal error:\n{err}"
    );
    assert!(
        err.contains(file),
        "{what}: the error does not name `{file}`:\n{err}"
    );
    for w in words {
        assert!(err.contains(w), "{what}: `{w}` missing from:\n{err}");
    }
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "{what}: files left in the output directory: {left:?}"
    );
    run
}
