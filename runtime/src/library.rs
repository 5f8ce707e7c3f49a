//! A shared library built by lamarrc, opened with libloading.

use crate::{Entry, EntryFn, Metadata, RuntimeError, METADATA_SYMBOL};
use std::ffi::{c_char, CStr};
use std::path::Path;

pub struct Library {
    // Keeps the code mapped while entries are in use.
    _lib: libloading::Library,
    pub metadata: Metadata,
    entries: Vec<Entry>,
}

impl Library {
    pub fn open(path: &Path) -> Result<Library, RuntimeError> {
        let p = path.display().to_string();
        // dlopen searches the library path for names without a slash: always pass a full path.
        let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        // SAFETY: loading runs the library's initialisers; lamarrc libraries have none.
        let lib = unsafe { libloading::Library::new(&full) }.map_err(|e| RuntimeError::Load {
            path: p.clone(),
            message: e.to_string(),
        })?;
        // SAFETY: the symbol is a NUL-terminated char array written by lamarrc's codegen.
        let text = unsafe {
            let sym = lib
                .get::<*const c_char>(METADATA_SYMBOL.as_bytes())
                .map_err(|_| RuntimeError::NotLamarrc { path: p.clone() })?;
            let ptr: *const c_char = *sym as *const c_char;
            // The symbol's address is the array itself.
            let addr = sym
                .try_as_raw_ptr()
                .map(|a| a as *const c_char)
                .unwrap_or(ptr);
            CStr::from_ptr(addr).to_string_lossy().into_owned()
        };
        let metadata = Metadata::parse(&text).map_err(|message| RuntimeError::Metadata {
            path: p.clone(),
            message,
        })?;
        let mut entries = Vec::new();
        for info in &metadata.functions {
            let addr = |name: &str| -> Result<usize, RuntimeError> {
                // SAFETY: we only take the address; calls go through `Entry`, which checks widths.
                unsafe {
                    lib.get::<*const ()>(name.as_bytes())
                        .ok()
                        .and_then(|s| s.try_as_raw_ptr())
                        .map(|a| a as usize)
                        .ok_or_else(|| RuntimeError::Metadata {
                            path: p.clone(),
                            message: format!("symbol `{name}` is missing"),
                        })
                }
            };
            entries.push(Entry {
                info: info.clone(),
                addr: EntryFn {
                    row: addr(&info.name)?,
                    batch: addr(&format!("{}_batch", info.name))?,
                },
            });
        }
        Ok(Library {
            _lib: lib,
            metadata,
            entries,
        })
    }

    pub fn entry(&self, name: &str) -> Result<&Entry, RuntimeError> {
        crate::find(&self.entries, name)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
