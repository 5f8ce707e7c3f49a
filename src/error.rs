//! The compiler's error: each variant keeps the frontend's nested error, whose text names the
//! file, the layer or estimator, and what was expected.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Keras(Box<crate::front::keras::KerasError>),
    #[error(transparent)]
    Sklearn(#[from] crate::front::sklearn::SklearnError),
    #[error(transparent)]
    Codegen(#[from] crate::codegen::CodegenError),
    #[error("internal error, the IR is invalid (please report):\n{0}")]
    Verify(#[from] lamarrc_ir::verify::VerifyErrors),
    #[error(transparent)]
    Runtime(#[from] lamarrc_runtime::RuntimeError),
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

impl From<crate::front::keras::KerasError> for Error {
    fn from(e: crate::front::keras::KerasError) -> Self {
        Error::Keras(Box::new(e))
    }
}

impl Error {
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
