//! Arbitrary bytes as a whole model directory: the input is split at `--lamarrc-part--` into
//! `model.keras`, `tX.pkl` and `tY.pkl` (an empty or missing part leaves the file out), written
//! to a temporary directory, loaded and lowered to a verified IR module by the driver, exactly
//! as `lamarrc compile DIR` does before code generation.
#![no_main]

use lamarrc::driver;
use libfuzzer_sys::fuzz_target;

const SEP: &[u8] = b"--lamarrc-part--";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 2 {
        match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    if parts.iter().all(|p| p.is_empty()) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    for (part, name) in parts.iter().zip(["model.keras", "tX.pkl", "tY.pkl"]) {
        if !part.is_empty() {
            std::fs::write(dir.path().join(name), part).expect("write part");
        }
    }
    let models = match driver::load_models(&[dir.path().to_owned()], None) {
        Ok(m) => m,
        Err(_) => return,
    };
    if let Err(lamarrc::Error::Verify(e)) = driver::build_module(&models) {
        panic!("accepted model gave invalid IR: {e}");
    }
});
