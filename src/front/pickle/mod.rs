//! Safe reader for Python pickles and joblib files (scikit-learn pre/post-processing).
//! Written here because serde-pickle, candle's reader and repugnant-pickle all fail on
//! these files (numpy arrays, joblib's raw array bytes after BUILD, protocol-5 buffers).
//!
//! The reader is a pickle VM that never executes anything: globals are checked against an
//! allow-list policy and become plain values; a handful of well-known constructors
//! (`_codecs.encode`, numpy's `_reconstruct`/`_frombuffer`/`scalar`/`dtype`, `set`, `slice`,
//! `OrderedDict`, ...) are interpreted. Every limit (nesting, node count, decompressed size)
//! is checked, so arbitrary input gives an `Err`, never a panic or unbounded work.

mod numpy;
#[cfg(test)]
mod tests;
mod vm;

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::Path;

/// A Python object, as an owned tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in i64: little-endian two's complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    /// `bytes` and `bytearray`.
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Entries in insertion order; a key set twice appears twice, and the lookups
    /// below (`get`, `attr`) return the last one, as Python would.
    Dict(Vec<(Value, Value)>),
    /// `set` and `frozenset`.
    Set(Vec<Value>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// A global used as a value: a class, or a numpy ufunc such as `numpy.log1p`.
    Global {
        module: String,
        name: String,
    },
    /// An instance of an allowed class (NEWOBJ/REDUCE/INST/OBJ) plus its BUILD state.
    /// A standalone `numpy.dtype` becomes `Object { numpy, dtype, args: [Str("<f8")] }`.
    Object {
        module: String,
        name: String,
        args: Vec<Value>,
        state: Option<Box<Value>>,
    },
    Array(NdArray),
}

/// A numpy array, always in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    pub shape: Vec<usize>,
    pub data: ArrayData,
}

/// Array elements. i1/i2/u2 widen to I32, u4/u8 to I64, f2 to F32; `U`/`S` arrays and
/// object arrays become `Object` (of `Str`/`Bytes`/any values).
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
    Object(Vec<Value>),
}

/// Resource limits. Exceeding one is an error.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum nesting of containers in the result (and of MARKs in the stream).
    pub max_depth: usize,
    /// Work budget: one unit per object or container slot created, plus one per 64 bytes
    /// (or array elements) of payload. Applied to the VM and, separately, to the final tree, where shared
    /// references are expanded (this is what stops "billion laughs" memo bombs).
    pub max_nodes: usize,
    /// Maximum size of a decompressed joblib stream.
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_nodes: 2_000_000,
            max_decompressed: 2 << 30,
        }
    }
}

/// Where and why reading failed.
#[derive(Debug, thiserror::Error)]
#[error("pickle: {}{kind}", location(.offset, .opcode))]
pub struct PickleError {
    /// Byte offset of the failing opcode (in the decompressed stream for compressed joblib).
    pub offset: Option<u64>,
    pub opcode: Option<&'static str>,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("unexpected end of data")]
    Truncated,
    #[error("refused global `{module}.{name}`: only scikit-learn estimators and numpy arrays may appear in a preprocessing pickle")]
    RefusedGlobal { module: String, name: String },
    #[error("limit exceeded: {0}")]
    Limit(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(Cow<'static, str>),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn location(offset: &Option<u64>, opcode: &Option<&'static str>) -> String {
    match (offset, opcode) {
        (Some(o), Some(op)) => format!("at byte {o} (opcode {op}): "),
        (Some(o), None) => format!("at byte {o}: "),
        _ => String::new(),
    }
}

impl PickleError {
    fn plain(kind: ErrorKind) -> Self {
        PickleError {
            offset: None,
            opcode: None,
            kind,
        }
    }
}

/// Numpy ufuncs (pickled by numpy >= 1.25 as the plain global `numpy.<__name__>`).
const UFUNCS: &[&str] = &[
    "log",
    "log1p",
    "log2",
    "log10",
    "exp",
    "expm1",
    "exp2",
    "sqrt",
    "cbrt",
    "square",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "abs",
    "absolute",
    "fabs",
    "negative",
    "positive",
    "reciprocal",
    "sign",
    "floor",
    "ceil",
    "rint",
    "trunc",
];

/// Numpy scalar types (estimators keep them as `dtype=` parameters).
const NUMPY_TYPES: &[&str] = &[
    "ndarray", "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool_", "bool", "object_", "str_", "bytes_",
];

/// The default allow-list: scikit-learn classes, numpy arrays/dtypes/scalars/ufuncs, the
/// few builtins pickle itself needs, joblib's array wrapper, and `DecorrTransformer`.
pub fn default_policy(module: &str, name: &str) -> bool {
    // A dotted name would be resolved attribute by attribute by Python (`sklearn.base` +
    // `os.system`): never allowed.
    if name.is_empty() || name.contains('.') {
        return false;
    }
    if name == "DecorrTransformer" || module == "sklearn" || module.starts_with("sklearn.") {
        return true;
    }
    match module {
        "numpy" => UFUNCS.contains(&name) || NUMPY_TYPES.contains(&name),
        "numpy.core.multiarray" | "numpy._core.multiarray" => {
            matches!(name, "_reconstruct" | "scalar")
        }
        "numpy.core.numeric" | "numpy._core.numeric" => name == "_frombuffer",
        "numpy.core" | "numpy._core" => name == "_ufunc_reconstruct",
        "builtins" => matches!(
            name,
            "object" | "slice" | "set" | "frozenset" | "bytearray" | "bytes"
        ),
        "copyreg" => matches!(name, "_reconstructor" | "__newobj__" | "__newobj_ex__"),
        "_codecs" => name == "encode",
        "collections" => name == "OrderedDict",
        "joblib.numpy_pickle" => name == "NumpyArrayWrapper",
        _ => false,
    }
}

/// Reads a pickle or a joblib file (plain or compressed) into a value tree.
pub fn load(
    bytes: &[u8],
    policy: &dyn Fn(&str, &str) -> bool,
    limits: &Limits,
) -> Result<Value, PickleError> {
    let data = decompress(bytes, limits)?;
    let mut vm = vm::Vm::new(&data, policy, limits);
    let root = vm.run(true)?;
    vm.into_value(root)
}

/// Reads a file with [`default_policy`] and default [`Limits`].
pub fn load_file(path: impl AsRef<Path>) -> Result<Value, PickleError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| {
        PickleError::plain(ErrorKind::Io {
            path: path.display().to_string(),
            source,
        })
    })?;
    load(&bytes, &default_policy, &Limits::default())
}

/// Detects joblib's compression by magic bytes (joblib/compressor.py) and inflates the
/// whole stream, refusing to grow past `limits.max_decompressed`.
fn decompress<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, PickleError> {
    let limit = limits.max_decompressed;
    let name = if bytes.starts_with(b"ZF") {
        return Err(PickleError::plain(ErrorKind::Unsupported(
            "joblib < 0.9.3 compressed format ('ZF'); re-save the file with a newer joblib".into(),
        )));
    } else if bytes.starts_with(&[0x78]) {
        "zlib"
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        "gzip"
    } else if bytes.starts_with(b"BZ") {
        "bz2"
    } else if bytes.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a]) {
        "xz"
    } else if bytes.starts_with(&[0x5d, 0x00]) {
        "lzma"
    } else if bytes.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        return Err(PickleError::plain(ErrorKind::Unsupported(
            "lz4-compressed joblib file".into(),
        )));
    } else {
        return Ok(Cow::Borrowed(bytes));
    };
    let mut out = Capped {
        buf: Vec::new(),
        limit,
        over: false,
    };
    let res: Result<(), String> = match name {
        "zlib" => copy(flate2::read::ZlibDecoder::new(bytes), &mut out),
        "gzip" => copy(flate2::read::MultiGzDecoder::new(bytes), &mut out),
        "bz2" => copy(bzip2::read::MultiBzDecoder::new(bytes), &mut out),
        "xz" => lzma_rs::xz_decompress(&mut { bytes }, &mut out).map_err(|e| e.to_string()),
        _ => {
            let opts = lzma_rs::decompress::Options {
                memlimit: usize::try_from(limit).ok(),
                ..Default::default()
            };
            lzma_rs::lzma_decompress_with_options(&mut { bytes }, &mut out, &opts)
                .map_err(|e| e.to_string())
        }
    };
    if out.over {
        return Err(PickleError::plain(ErrorKind::Limit(format!(
            "{name}-compressed stream inflates past {limit} bytes"
        ))));
    }
    res.map_err(|e| {
        PickleError::plain(ErrorKind::Invalid(
            format!("corrupt {name} stream: {e}").into(),
        ))
    })?;
    Ok(Cow::Owned(out.buf))
}

fn copy(mut r: impl Read, w: &mut Capped) -> Result<(), String> {
    std::io::copy(&mut r, w)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A `Write` sink that fails once more than `limit` bytes were written.
struct Capped {
    buf: Vec<u8>,
    limit: u64,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if (self.buf.len() as u64).saturating_add(b.len() as u64) > self.limit {
            self.over = true;
            return Err(std::io::Error::other("decompressed size limit"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Value {
    /// `"module.name"` of an object (or of a global).
    pub fn class_path(&self) -> Option<String> {
        match self {
            Value::Object { module, name, .. } | Value::Global { module, name } => {
                Some(format!("{module}.{name}"))
            }
            _ => None,
        }
    }

    /// An attribute of an object: looked up in its dict state (or in the dict / slots dict
    /// of a `(dict, slots)` state tuple).
    pub fn attr(&self, name: &str) -> Option<&Value> {
        let Value::Object {
            state: Some(st), ..
        } = self
        else {
            return None;
        };
        match &**st {
            Value::Dict(_) => st.get(name),
            Value::Tuple(parts) => parts.iter().rev().find_map(|p| p.get(name)),
            _ => None,
        }
    }

    /// Value of a `str` key in a dict (the last one set).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            Value::Array(a) if a.shape.is_empty() => a.to_f64()?.first().map(|x| *x != 0.0),
            _ => None,
        }
    }

    /// An integer (a Python int or bool, or an integral 0-d array).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Array(a) if a.shape.is_empty() => a.to_i64()?.first().copied(),
            _ => None,
        }
    }

    /// A number (float, int, bool or a numeric 0-d array) as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Array(a) if a.shape.is_empty() => a.to_f64()?.first().copied(),
            _ => None,
        }
    }

    /// The elements of a numeric array (flattened, C order) or of a list/tuple of numbers.
    pub fn as_f64_vec(&self) -> Option<Vec<f64>> {
        match self {
            Value::Array(a) => a.to_f64(),
            Value::List(v) | Value::Tuple(v) => v.iter().map(Value::as_f64).collect(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&NdArray> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Items of a list or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::Slice(..) => "slice",
            Value::Global { .. } => "global",
            Value::Object { .. } => "object",
            Value::Array(_) => "ndarray",
        }
    }
}

impl NdArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.len() == 0
    }

    /// Elements as f64 (numeric arrays, or object arrays of numbers).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        Some(match &self.data {
            ArrayData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::F64(v) => v.clone(),
            ArrayData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            ArrayData::Object(v) => return v.iter().map(Value::as_f64).collect(),
        })
    }

    /// Elements as i64 (integer and bool arrays, or object arrays of ints).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            ArrayData::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ArrayData::I64(v) => v.clone(),
            ArrayData::U8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ArrayData::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            ArrayData::Object(v) => return v.iter().map(Value::as_i64).collect(),
            ArrayData::F32(_) | ArrayData::F64(_) => return None,
        })
    }

    /// Elements of an array of strings (object or `U` dtype), e.g. `feature_names_in_`.
    pub fn strings(&self) -> Option<Vec<&str>> {
        match &self.data {
            ArrayData::Object(v) => v.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }
}

impl ArrayData {
    pub fn len(&self) -> usize {
        match self {
            ArrayData::F32(v) => v.len(),
            ArrayData::F64(v) => v.len(),
            ArrayData::I32(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::U8(v) => v.len(),
            ArrayData::Bool(v) => v.len(),
            ArrayData::Object(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Numpy's name for the element type.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            ArrayData::F32(_) => "float32",
            ArrayData::F64(_) => "float64",
            ArrayData::I32(_) => "int32",
            ArrayData::I64(_) => "int64",
            ArrayData::U8(_) => "uint8",
            ArrayData::Bool(_) => "bool",
            ArrayData::Object(_) => "object",
        }
    }
}
