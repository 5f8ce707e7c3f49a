//! `model.weights.h5`: the variables of every layer, read through HDF5 (hdf5-metno over the
//! system libhdf5). Keras addresses a layer's variables as `<container path>/vars/<i>`, where
//! the container path is built from snake-cased class names (see [`super::graph`]).

use super::KerasError;
use std::io::Write;
use std::path::Path;

/// The most values one variable may hold (2^28: 1 GiB of f32; a 5M-parameter model is 2^22.3).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// One variable: its shape and values (converted to f64; f32 converts exactly).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// An open weights file. The HDF5 library reads from a path, so the archive member is written
/// to a private temporary file that lives as long as this value.
pub struct Weights {
    file: hdf5::File,
    _temp: tempfile::NamedTempFile,
    origin: std::path::PathBuf,
}

impl Weights {
    pub fn open(archive_path: &Path, bytes: &[u8]) -> Result<Weights, KerasError> {
        let bad = |detail: String| KerasError::Weights {
            file: archive_path.to_owned(),
            detail,
        };
        // HDF5 files start with this signature; checking it first gives a clear message instead
        // of the library's error stack for plain garbage.
        if !bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
            return Err(bad("not an HDF5 file (bad signature)".into()));
        }
        let mut temp = tempfile::Builder::new()
            .prefix("lamarrc-weights-")
            .suffix(".h5")
            .tempfile()
            .map_err(|e| bad(format!("cannot create a temporary file: {e}")))?;
        temp.write_all(bytes)
            .and_then(|_| temp.flush())
            .map_err(|e| bad(format!("cannot write a temporary file: {e}")))?;
        let file = hdf5::File::open(temp.path())
            .map_err(|e| bad(format!("cannot open: {e} (truncated or damaged?)")))?;
        Ok(Weights {
            file,
            _temp: temp,
            origin: archive_path.to_owned(),
        })
    }

    /// True if the group `path` exists.
    pub fn has_group(&self, path: &str) -> bool {
        self.file.group(path).is_ok()
    }

    /// Reads `<path>/vars/0`, `<path>/vars/1`, … in order. A layer without variables has an
    /// empty (or absent) `vars` group.
    pub fn vars(&self, path: &str) -> Result<Vec<Tensor>, String> {
        let vars_path = format!("{path}/vars");
        let group = match self.file.group(&vars_path) {
            Ok(g) => g,
            Err(_) => return Ok(Vec::new()),
        };
        let names = group
            .member_names()
            .map_err(|e| format!("cannot list `{vars_path}`: {e}"))?;
        let mut indexed: Vec<(usize, String)> = Vec::with_capacity(names.len());
        for n in names {
            let i = n
                .parse::<usize>()
                .map_err(|_| format!("unexpected member `{vars_path}/{n}`"))?;
            indexed.push((i, n));
        }
        indexed.sort();
        let mut out = Vec::with_capacity(indexed.len());
        for (k, (i, name)) in indexed.iter().enumerate() {
            if *i != k {
                return Err(format!("`{vars_path}` is missing variable {k}"));
            }
            let full = format!("{vars_path}/{name}");
            let ds = group
                .dataset(name)
                .map_err(|e| format!("cannot open `{full}`: {e}"))?;
            let shape = ds.shape();
            // Check the size before reading: a hostile file can declare an enormous dataset.
            let elements = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if elements.is_none_or(|n| n > MAX_ELEMENTS) {
                return Err(format!(
                    "`{full}` has shape {shape:?}, more than the {MAX_ELEMENTS} values a weight may hold"
                ));
            }
            let data = ds
                .read_raw::<f64>()
                .map_err(|e| format!("cannot read `{full}` as floating point: {e}"))?;
            if data.len() != shape.iter().product::<usize>() {
                return Err(format!("`{full}`: data does not match its shape {shape:?}"));
            }
            out.push(Tensor { shape, data });
        }
        Ok(out)
    }

    pub fn origin(&self) -> &Path {
        &self.origin
    }
}
