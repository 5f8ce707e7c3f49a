//! lamarrc: compiles Keras networks and their scikit-learn pre/post-processing into native code
//! with plain C entry points.

pub mod bench;
pub mod cli;
pub mod codegen;
pub mod data;
pub mod driver;
pub mod error;
pub mod front;
pub mod fsutil;
pub mod inspect;
pub mod report;
pub mod validate;

pub use error::{Error, Result};
