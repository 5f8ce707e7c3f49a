//! numpy dtypes and raw array data.

use super::{ArrayData, Value};

/// A numpy dtype as pickled: `numpy.dtype(spec, align, copy)` + BUILD `(3, order, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dtype {
    /// Type character: f i u b O U S (others are refused when decoding).
    pub kind: u8,
    /// Size of one element in bytes.
    pub size: usize,
    pub big_endian: bool,
    /// Structured dtypes (with fields) are not supported; recorded so decoding can refuse.
    pub structured: bool,
}

impl Dtype {
    /// Parses a dtype spec such as `f8`, `<i4`, `b1`, `O8`, `U5` (5 characters), `S3`.
    pub fn parse(spec: &str) -> Result<Dtype, String> {
        let mut s = spec.as_bytes();
        let mut big_endian = false;
        if let [o @ (b'<' | b'>' | b'|' | b'='), rest @ ..] = s {
            big_endian = *o == b'>';
            s = rest;
        }
        let [kind, digits @ ..] = s else {
            return Err(format!("bad dtype `{spec}`"));
        };
        let n: usize = if digits.is_empty() {
            match kind {
                b'b' | b'?' => 1,
                b'O' => 8,
                _ => 0,
            }
        } else {
            std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| format!("bad dtype `{spec}`"))?
        };
        let kind = if *kind == b'?' { b'b' } else { *kind };
        let size = if kind == b'U' { n.saturating_mul(4) } else { n };
        Ok(Dtype {
            kind,
            size,
            big_endian,
            structured: false,
        })
    }

    /// Applies the BUILD state's byte order, fields and element size.
    pub fn set_state(&mut self, order: Option<&str>, has_fields: bool, elsize: Option<i64>) {
        match order {
            Some(">") => self.big_endian = true,
            Some("<") | Some("|") | Some("=") => self.big_endian = false,
            _ => {}
        }
        self.structured |= has_fields;
        if let Some(e) = elsize.and_then(|e| usize::try_from(e).ok()) {
            if e > 0 && matches!(self.kind, b'U' | b'S' | b'V') {
                self.size = e;
            }
        }
    }

    /// `<f8`, `|b1`, `>i4`, `|O`: numpy's `dtype.str`.
    pub fn descr(&self) -> String {
        let order = match (self.kind, self.size, self.big_endian) {
            (b'O', _, _) => return "|O".into(),
            (b'b' | b'S' | b'V', _, _) | (_, 1, _) => '|',
            (_, _, true) => '>',
            _ => '<',
        };
        let n = if self.kind == b'U' {
            self.size / 4
        } else {
            self.size
        };
        format!("{order}{}{n}", self.kind as char)
    }

    pub fn is_object(&self) -> bool {
        self.kind == b'O'
    }

    /// Decodes `count` elements from `raw` (which must hold exactly that many).
    pub fn decode(&self, raw: &[u8], count: usize) -> Result<ArrayData, String> {
        if self.structured {
            return Err(format!("structured dtype `{}`", self.descr()));
        }
        if self.size == 0 || self.kind == b'O' {
            return Err(format!("dtype `{}` has no raw element data", self.descr()));
        }
        if count.checked_mul(self.size) != Some(raw.len()) {
            return Err(format!(
                "array of {count} x `{}` needs {} bytes, found {}",
                self.descr(),
                count.saturating_mul(self.size),
                raw.len()
            ));
        }
        let be = self.big_endian;
        Ok(match (self.kind, self.size) {
            (b'f', 8) => ArrayData::F64(words(raw, be, f64::from_le_bytes)),
            (b'f', 4) => ArrayData::F32(words(raw, be, f32::from_le_bytes)),
            (b'f', 2) => ArrayData::F32(words(raw, be, |b| f16_to_f32(u16::from_le_bytes(b)))),
            (b'i', 8) => ArrayData::I64(words(raw, be, i64::from_le_bytes)),
            (b'i', 4) => ArrayData::I32(words(raw, be, i32::from_le_bytes)),
            (b'i', 2) => ArrayData::I32(words(raw, be, |b| i16::from_le_bytes(b).into())),
            (b'i', 1) => ArrayData::I32(raw.iter().map(|&b| i32::from(b as i8)).collect()),
            (b'u', 1) => ArrayData::U8(raw.to_vec()),
            (b'u', 2) => ArrayData::I32(words(raw, be, |b| u16::from_le_bytes(b).into())),
            (b'u', 4) => ArrayData::I64(words(raw, be, |b| u32::from_le_bytes(b).into())),
            (b'u', 8) => {
                let v: Vec<u64> = words(raw, be, u64::from_le_bytes);
                let v: Result<Vec<i64>, _> = v.into_iter().map(i64::try_from).collect();
                ArrayData::I64(v.map_err(|_| "uint64 value above i64::MAX".to_string())?)
            }
            (b'b', 1) => ArrayData::Bool(raw.iter().map(|&b| b != 0).collect()),
            (b'U', _) => ArrayData::Object(
                raw.chunks_exact(self.size)
                    .map(|c| utf32(c, be).map(Value::Str))
                    .collect::<Result<_, _>>()?,
            ),
            (b'S', _) => ArrayData::Object(
                raw.chunks_exact(self.size)
                    .map(|c| {
                        let end = c.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                        Value::Bytes(c.get(..end).unwrap_or_default().to_vec())
                    })
                    .collect(),
            ),
            _ => return Err(format!("unsupported dtype `{}`", self.descr())),
        })
    }
}

/// Splits `raw` into N-byte words and converts each (given little-endian bytes).
fn words<const N: usize, T>(raw: &[u8], big_endian: bool, f: impl Fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            for (d, s) in a.iter_mut().zip(c) {
                *d = *s;
            }
            if big_endian {
                a.reverse();
            }
            f(a)
        })
        .collect()
}

/// A fixed-width UTF-32 element, trailing NULs stripped.
fn utf32(c: &[u8], big_endian: bool) -> Result<String, String> {
    words(c, big_endian, u32::from_le_bytes)
        .into_iter()
        .filter(|&u| u != 0)
        .map(|u| char::from_u32(u).ok_or_else(|| format!("invalid code point {u:#x} in str array")))
        .collect()
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        31 if frac == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        _ => (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// Product of the dimensions (1 for a 0-d array), or None on overflow.
pub(super) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Reorders `v`, whose elements are in Fortran order for `shape`, into C order.
pub(super) fn fortran_to_c<T: Clone>(v: &[T], shape: &[usize]) -> Vec<T> {
    let mut idx = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(v.len());
    for _ in 0..v.len() {
        // Fortran offset: first index varies fastest.
        let mut off = 0usize;
        let mut stride = 1usize;
        for (i, d) in idx.iter().zip(shape) {
            off = off.wrapping_add(i.wrapping_mul(stride));
            stride = stride.wrapping_mul(*d);
        }
        if let Some(x) = v.get(off) {
            out.push(x.clone());
        }
        // Advance the C-order multi-index: last index varies fastest.
        for (i, d) in idx.iter_mut().zip(shape).rev() {
            *i += 1;
            if *i < *d {
                break;
            }
            *i = 0;
        }
    }
    out
}

/// [`fortran_to_c`] over every element type.
pub(super) fn reorder(data: ArrayData, shape: &[usize]) -> ArrayData {
    if shape.len() < 2 {
        return data;
    }
    match data {
        ArrayData::F32(v) => ArrayData::F32(fortran_to_c(&v, shape)),
        ArrayData::F64(v) => ArrayData::F64(fortran_to_c(&v, shape)),
        ArrayData::I32(v) => ArrayData::I32(fortran_to_c(&v, shape)),
        ArrayData::I64(v) => ArrayData::I64(fortran_to_c(&v, shape)),
        ArrayData::U8(v) => ArrayData::U8(fortran_to_c(&v, shape)),
        ArrayData::Bool(v) => ArrayData::Bool(fortran_to_c(&v, shape)),
        ArrayData::Object(v) => ArrayData::Object(fortran_to_c(&v, shape)),
    }
}
