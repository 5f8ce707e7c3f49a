//! Emission helpers: add nodes with the estimator's origin, turn IR typing errors into
//! [`SklearnError`]s that name the estimator.

use super::{EstimatorError, SklearnError};
use lamarrc_ir::{Function, Op, Origin, ValueId};
use std::path::Path;

/// A function being extended, and the file the estimators come from.
pub(crate) struct Emitter<'f> {
    pub f: &'f mut Function,
    file: &'f Path,
    /// Origin file name (the file's last component, as the Keras frontend does).
    file_name: String,
}

impl<'f> Emitter<'f> {
    pub fn new(f: &'f mut Function, file: &'f Path) -> Self {
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Emitter { f, file, file_name }
    }

    pub fn err(&self, path: &str, source: EstimatorError) -> SklearnError {
        SklearnError::Estimator {
            file: self.file.to_path_buf(),
            path: path.into(),
            source: Box::new(source),
        }
    }

    /// Appends `op(args)` with origin `(file name, path)`.
    pub fn add(&mut self, path: &str, op: Op, args: &[ValueId]) -> Result<ValueId, SklearnError> {
        let origin = Origin::new(self.file_name.clone(), path);
        self.f
            .add(op, args, origin)
            .map_err(|e| self.err(path, EstimatorError::Ir(e)))
    }

    /// Width of a value.
    pub fn width(&self, v: ValueId) -> usize {
        self.f.ty(v).len
    }
}
