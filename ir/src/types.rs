//! Value types: a scalar kind and a static vector length.

use std::fmt;

/// Scalar kind of a value. The network runs in f32 like Keras; scikit-learn steps run in f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Rounds an f64 to this precision (identity for f64).
    pub fn round(self, x: f64) -> f64 {
        match self {
            DType::F32 => x as f32 as f64,
            DType::F64 => x,
        }
    }
}

/// The type of a value: a row vector of `len` scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    pub dtype: DType,
    pub len: usize,
}

impl Type {
    pub fn f32(len: usize) -> Self {
        Type {
            dtype: DType::F32,
            len,
        }
    }
    pub fn f64(len: usize) -> Self {
        Type {
            dtype: DType::F64,
            len,
        }
    }
    pub fn with_len(self, len: usize) -> Self {
        Type { len, ..self }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.dtype.name(), self.len)
    }
}
