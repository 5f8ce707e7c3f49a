//! Output files appear whole or not at all: written to a temporary file beside the target and
//! renamed into place.

use std::io::Write;
use std::path::Path;

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".lamarrc-")
        .tempfile_in(dir_of(path))?;
    tmp.write_all(bytes)?;
    tmp.flush()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary path beside `path` for tools that write files themselves (the linker); call
/// [`TempOut::commit`] to rename it into place.
pub struct TempOut {
    tmp: tempfile::TempPath,
}

impl TempOut {
    pub fn beside(path: &Path) -> std::io::Result<TempOut> {
        let f = tempfile::Builder::new()
            .prefix(".lamarrc-")
            .tempfile_in(dir_of(path))?;
        Ok(TempOut {
            tmp: f.into_temp_path(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn commit(self, path: &Path) -> std::io::Result<()> {
        self.tmp.persist(path).map_err(|e| e.error)
    }
}
