//! Loading and calling code compiled by lamarrc, from Rust: shared libraries through
//! libloading ([`Library`]) and, via the same [`Entry`] type, JIT-compiled functions.
//!
//! The symbol names and the metadata format defined here are the contract with codegen.

mod abi;
mod library;
mod metadata;

pub use abi::{find, Entry, EntryFn};
pub use library::Library;
pub use metadata::{FunctionInfo, Metadata, METADATA_SYMBOL};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("{path}: cannot load: {message}")]
    Load { path: String, message: String },
    #[error("{path}: not built by lamarrc (no `{}` symbol)", METADATA_SYMBOL)]
    NotLamarrc { path: String },
    #[error("{path}: bad metadata: {message}")]
    Metadata { path: String, message: String },
    #[error("no function `{0}` in this library")]
    NoFunction(String),
    #[error("`{name}`: {message}")]
    Call { name: String, message: String },
}
