//! Keras 3 `.keras` archives: a zip with `config.json` (the layer graph), `metadata.json` and
//! `model.weights.h5` (the variables, addressed the way Keras' saving code addresses them).
//!
//! Stages: [`archive`] opens the zip, [`config`] gives typed access to the JSON, [`weights`]
//! reads the HDF5 variables, [`graph`] walks Sequential/Functional (nested) containers and
//! attaches each layer's variables, [`layers`] turns one layer config into a [`layers::LayerKind`],
//! and [`emit`] lowers the whole network into IR nodes.

pub mod archive;
pub mod config;
pub mod emit;
pub mod graph;
pub mod layers;
pub mod weights;

pub use graph::{Graph, Layer, Network};
pub use layers::LayerKind;

use std::path::PathBuf;
use thiserror::Error;

/// What went wrong with one layer.
#[derive(Debug, Error)]
pub enum LayerError {
    #[error("unsupported {what}; supported: {supported}")]
    Unsupported { what: String, supported: String },
    #[error("missing weight `{path}`")]
    MissingWeight { path: String },
    #[error("weight `{path}` has shape {found:?}, expected {expected:?}")]
    WeightShape {
        path: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{0}")]
    Config(String),
    #[error("input shapes do not fit: {0}")]
    Shape(String),
}

/// A Keras model that cannot be read or compiled, with where and why.
#[derive(Debug, Error)]
pub enum KerasError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not a Keras 3 `.keras` archive (expected a zip with config.json and model.weights.h5): {detail}")]
    Archive { file: PathBuf, detail: String },
    #[error("{file}: config.json: {detail}")]
    Config { file: PathBuf, detail: String },
    #[error("{file}: model.weights.h5: {detail}")]
    Weights { file: PathBuf, detail: String },
    #[error("{file}: layer #{index} `{name}` ({class}): {source}")]
    Layer {
        file: PathBuf,
        index: usize,
        name: String,
        class: String,
        source: Box<LayerError>,
    },
}

/// Reads a `.keras` file into a [`Network`].
pub fn load(path: &std::path::Path) -> Result<Network, KerasError> {
    let archive = archive::Archive::open(path)?;
    graph::Network::from_archive(&archive)
}
