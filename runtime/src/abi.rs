//! Calling compiled entry points safely: widths are checked against the metadata before any
//! pointer crosses into generated code.

use crate::{FunctionInfo, RuntimeError};

/// The raw addresses of a function and its batched variant.
#[derive(Clone, Copy, Debug)]
pub struct EntryFn {
    pub row: usize,
    pub batch: usize,
}

/// A callable compiled function (from a library or the JIT).
#[derive(Clone, Debug)]
pub struct Entry {
    pub info: FunctionInfo,
    pub addr: EntryFn,
}

/// The entry named `name` among `entries` (a library's or a JIT's).
pub fn find<'a>(entries: &'a [Entry], name: &str) -> Result<&'a Entry, RuntimeError> {
    entries
        .iter()
        .find(|e| e.info.name == name)
        .ok_or_else(|| RuntimeError::NoFunction(name.into()))
}

type P = *const f32;
type O = *mut f32;

impl Entry {
    fn check(&self, inputs: &[&[f32]], rows: usize) -> Result<(), RuntimeError> {
        let err = |message: String| RuntimeError::Call {
            name: self.info.name.clone(),
            message,
        };
        if inputs.len() != self.info.inputs.len() {
            return Err(err(format!(
                "takes {} inputs, given {}",
                self.info.inputs.len(),
                inputs.len()
            )));
        }
        for (k, (x, &w)) in inputs.iter().zip(&self.info.inputs).enumerate() {
            if x.len() != w * rows {
                return Err(err(format!(
                    "input {k} has {} values, expected {rows} rows x {w}",
                    x.len()
                )));
            }
        }
        if inputs.len() > 4 {
            return Err(err("more than 4 inputs are not callable from Rust".into()));
        }
        Ok(())
    }

    /// Evaluates one row.
    pub fn call(&self, inputs: &[&[f32]]) -> Result<Vec<f32>, RuntimeError> {
        self.check(inputs, 1)?;
        let mut out = vec![0f32; self.info.outputs];
        let o = out.as_mut_ptr();
        let p: Vec<P> = inputs.iter().map(|x| x.as_ptr()).collect();
        // SAFETY: the address comes from a lamarrc library or JIT whose metadata says this
        // function takes `p.len()` inputs of the widths checked above and writes `outputs` floats.
        unsafe {
            match p.len() {
                0 => std::mem::transmute::<usize, extern "C" fn(O) -> O>(self.addr.row)(o),
                1 => std::mem::transmute::<usize, extern "C" fn(O, P) -> O>(self.addr.row)(o, p[0]),
                2 => std::mem::transmute::<usize, extern "C" fn(O, P, P) -> O>(self.addr.row)(
                    o, p[0], p[1],
                ),
                3 => std::mem::transmute::<usize, extern "C" fn(O, P, P, P) -> O>(self.addr.row)(
                    o, p[0], p[1], p[2],
                ),
                _ => {
                    std::mem::transmute::<usize, extern "C" fn(O, P, P, P, P) -> O>(self.addr.row)(
                        o, p[0], p[1], p[2], p[3],
                    )
                }
            };
        }
        Ok(out)
    }

    /// Evaluates `rows` rows through the batched entry point (row-major arrays).
    pub fn call_batch(&self, inputs: &[&[f32]], rows: usize) -> Result<Vec<f32>, RuntimeError> {
        self.check(inputs, rows)?;
        let mut out = vec![0f32; self.info.outputs * rows];
        let o = out.as_mut_ptr();
        let p: Vec<P> = inputs.iter().map(|x| x.as_ptr()).collect();
        let n = rows;
        // SAFETY: as in `call`, with every array holding `rows` rows.
        unsafe {
            match p.len() {
                0 => std::mem::transmute::<usize, extern "C" fn(O, usize) -> O>(self.addr.batch)(
                    o, n,
                ),
                1 => {
                    std::mem::transmute::<usize, extern "C" fn(O, P, usize) -> O>(self.addr.batch)(
                        o, p[0], n,
                    )
                }
                2 => std::mem::transmute::<usize, extern "C" fn(O, P, P, usize) -> O>(
                    self.addr.batch,
                )(o, p[0], p[1], n),
                3 => std::mem::transmute::<usize, extern "C" fn(O, P, P, P, usize) -> O>(
                    self.addr.batch,
                )(o, p[0], p[1], p[2], n),
                _ => std::mem::transmute::<usize, extern "C" fn(O, P, P, P, P, usize) -> O>(
                    self.addr.batch,
                )(o, p[0], p[1], p[2], p[3], n),
            };
        }
        Ok(out)
    }
}
