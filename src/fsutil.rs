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

/// The output's directory, which must exist (we do not create directories behind the user).
fn existing_dir(path: &Path) -> std::io::Result<&Path> {
    let d = dir_of(path);
    if d.is_dir() {
        Ok(d)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("directory `{}` does not exist", d.display()),
        ))
    }
}

/// Temporary files are private (0600) by default; outputs get the modes of ordinary files
/// (0666, or 0777 for shared libraries, both less the umask).
fn builder(path: &Path) -> tempfile::Builder<'static, 'static> {
    use std::os::unix::fs::PermissionsExt;
    let exec = path.extension().is_some_and(|e| e == "so");
    let mut b = tempfile::Builder::new();
    b.prefix(".lamarrc-")
        .permissions(std::fs::Permissions::from_mode(if exec {
            0o777
        } else {
            0o666
        }));
    b
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = builder(path).tempfile_in(existing_dir(path)?)?;
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
        let f = builder(path).tempfile_in(existing_dir(path)?)?;
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
