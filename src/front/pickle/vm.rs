//! The pickle virtual machine: opcodes build nodes in an arena (so memoized objects that
//! are mutated later are seen mutated through GET), then the arena is turned into a tree.

use super::numpy::{self, Dtype};
use super::{ArrayData, ErrorKind, Limits, NdArray, PickleError, Value};
use std::borrow::Cow;
use std::collections::HashMap;

type Id = usize;

#[derive(Clone)]
enum Node {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    Slice([Option<i64>; 3]),
    Global {
        module: String,
        name: String,
    },
    Object {
        module: String,
        name: String,
        args: Vec<Id>,
        state: Option<Id>,
    },
    Dtype(Dtype),
    /// `numpy...._reconstruct(ndarray, (0,), b'b')`, waiting for its BUILD.
    PendingArray,
    Array(NdArray),
    ObjArray {
        shape: Vec<usize>,
        items: Vec<Id>,
    },
    /// Moved out during conversion.
    Taken,
}

type R<T> = Result<T, PickleError>;

pub(super) struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    op: u8,
    arena: Vec<Node>,
    work: usize,
    stack: Vec<Id>,
    meta: Vec<Vec<Id>>,
    memo: HashMap<u64, Id>,
    policy: &'a dyn Fn(&str, &str) -> bool,
    limits: &'a Limits,
}

fn bad(msg: impl Into<Cow<'static, str>>) -> ErrorKind {
    ErrorKind::Invalid(msg.into())
}

fn invalid<T>(msg: impl Into<Cow<'static, str>>) -> Result<T, ErrorKind> {
    Err(bad(msg))
}

fn latin1(s: &str) -> Result<Vec<u8>, ErrorKind> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)))
        .collect::<Result<_, _>>()
        .or_else(|_| invalid("str with characters above U+00FF used as latin-1 bytes"))
}

/// Python 2 module names that Python 3 writes for protocols < 3.
fn fix_module(m: &str) -> &str {
    match m {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        _ => m,
    }
}

fn is_numpy(module: &str, sub: &str) -> bool {
    module
        .strip_prefix("numpy.core.")
        .or_else(|| module.strip_prefix("numpy._core."))
        .is_some_and(|m| m == sub)
}

impl<'a> Vm<'a> {
    pub fn new(data: &'a [u8], policy: &'a dyn Fn(&str, &str) -> bool, limits: &'a Limits) -> Self {
        Vm {
            data,
            pos: 0,
            op_pos: 0,
            op: 0,
            arena: Vec::new(),
            work: 0,
            stack: Vec::new(),
            meta: Vec::new(),
            memo: HashMap::new(),
            policy,
            limits,
        }
    }

    fn fail(&self, kind: ErrorKind) -> PickleError {
        PickleError {
            offset: Some(self.op_pos as u64),
            opcode: Some(op_name(self.op)),
            kind,
        }
    }

    // ---- input -------------------------------------------------------------------------

    fn take(&mut self, n: u64) -> Result<&'a [u8], ErrorKind> {
        let data: &'a [u8] = self.data;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .ok_or(ErrorKind::Truncated)?;
        let s = data.get(self.pos..end).ok_or(ErrorKind::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], ErrorKind> {
        let mut a = [0u8; N];
        for (d, s) in a.iter_mut().zip(self.take(N as u64)?) {
            *d = *s;
        }
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, ErrorKind> {
        Ok(self.arr::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, ErrorKind> {
        self.arr().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, ErrorKind> {
        self.arr().map(u64::from_le_bytes)
    }

    /// A text line without its '\n'.
    fn line(&mut self) -> Result<&'a [u8], ErrorKind> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ErrorKind::Truncated)?;
        let l = self.take(n as u64 + 1)?;
        Ok(l.get(..n).unwrap_or_default())
    }

    fn line_str(&mut self) -> Result<&'a str, ErrorKind> {
        let l = self.line()?;
        std::str::from_utf8(l).or_else(|_| invalid("line is not UTF-8"))
    }

    /// A protocol-0 INT/LONG line (`I01` and `I00` are True and False).
    fn line_int(&mut self) -> Result<(i64, &'a str), ErrorKind> {
        let l = self.line_str()?;
        let v = l.trim().trim_end_matches('L').parse();
        Ok((
            v.map_err(|_| ErrorKind::Unsupported(format!("integer `{l}`")))?,
            l,
        ))
    }

    fn memo_key(&mut self) -> Result<u64, ErrorKind> {
        u64::try_from(self.line_int()?.0).or_else(|_| invalid("negative memo key"))
    }

    fn utf8(&mut self, n: u64) -> Result<Node, ErrorKind> {
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Node::Str(s.to_owned())),
            Err(_) => invalid("string is not valid UTF-8"),
        }
    }

    // ---- stack and arena ---------------------------------------------------------------

    fn charge(&mut self, units: usize) -> Result<(), ErrorKind> {
        self.work = self.work.saturating_add(units);
        if self.work > self.limits.max_nodes {
            return Err(ErrorKind::Limit(format!(
                "more than {} objects (Limits::max_nodes)",
                self.limits.max_nodes
            )));
        }
        Ok(())
    }

    fn alloc(&mut self, n: Node) -> Result<Id, ErrorKind> {
        self.charge(1 + payload(&n) / 64)?;
        self.arena.push(n);
        Ok(self.arena.len() - 1)
    }

    fn push(&mut self, id: Id) -> Result<(), ErrorKind> {
        if self.stack.len() >= self.limits.max_nodes {
            return Err(ErrorKind::Limit("stack too large".into()));
        }
        self.stack.push(id);
        Ok(())
    }

    fn push_new(&mut self, n: Node) -> Result<(), ErrorKind> {
        let id = self.alloc(n)?;
        self.push(id)
    }

    fn pop(&mut self) -> Result<Id, ErrorKind> {
        self.stack.pop().ok_or(bad("stack underflow"))
    }

    fn top(&self) -> Result<Id, ErrorKind> {
        self.stack.last().copied().ok_or(bad("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, ErrorKind> {
        let prev = self.meta.pop().ok_or(bad("no MARK on the stack"))?;
        Ok(std::mem::replace(&mut self.stack, prev))
    }

    fn node(&self, id: Id) -> &Node {
        self.arena.get(id).unwrap_or(&Node::Taken)
    }

    fn node_mut(&mut self, id: Id) -> Result<&mut Node, ErrorKind> {
        self.arena.get_mut(id).ok_or(bad("dangling reference"))
    }

    fn str_of(&self, id: Id) -> Option<&str> {
        match self.node(id) {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    fn int_of(&self, id: Id) -> Option<i64> {
        match self.node(id) {
            Node::Int(i) => Some(*i),
            Node::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    fn seq_of(&self, id: Id) -> Option<&[Id]> {
        match self.node(id) {
            Node::Tuple(v) | Node::List(v) => Some(v),
            _ => None,
        }
    }

    /// Raw bytes: `bytes`/`bytearray`, or a `str` holding latin-1 (Python 2 `str`).
    fn bytes_of(&self, id: Id) -> Result<Cow<'_, [u8]>, ErrorKind> {
        match self.node(id) {
            Node::Bytes(b) => Ok(Cow::Borrowed(b)),
            Node::Str(s) => latin1(s).map(Cow::Owned),
            _ => invalid("expected bytes"),
        }
    }

    fn dtype_of(&self, id: Id) -> Result<Dtype, ErrorKind> {
        match self.node(id) {
            Node::Dtype(d) => Ok(d.clone()),
            Node::Str(s) => Dtype::parse(s).map_err(bad),
            _ => invalid("expected a numpy dtype"),
        }
    }

    fn shape_of(&self, id: Id) -> Result<Vec<usize>, ErrorKind> {
        if let Some(i) = self.int_of(id) {
            return usize::try_from(i)
                .or_else(|_| invalid("negative array dimension"))
                .map(|d| vec![d]);
        }
        let dims = self.seq_of(id).ok_or(bad("array shape is not a tuple"))?;
        dims.iter()
            .map(|&d| self.int_of(d).and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<_>>>()
            .ok_or(bad("array dimension is not a non-negative int"))
    }

    /// A str key's value in a dict node (the last one set).
    fn dict_get(&self, id: Id, key: &str) -> Option<Id> {
        match self.node(id) {
            Node::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| self.str_of(*k) == Some(key))
                .map(|(_, v)| *v),
            _ => None,
        }
    }

    fn global(&self, module: &str, name: &str) -> Result<Node, ErrorKind> {
        let module = fix_module(module);
        if !(self.policy)(module, name) {
            return Err(ErrorKind::RefusedGlobal {
                module: module.into(),
                name: name.into(),
            });
        }
        Ok(Node::Global {
            module: module.into(),
            name: name.into(),
        })
    }

    // ---- the machine -------------------------------------------------------------------

    /// Runs until STOP and returns the result. `joblib`: read the array data that joblib
    /// writes after each `NumpyArrayWrapper` BUILD.
    pub fn run(&mut self, joblib: bool) -> R<Id> {
        loop {
            self.op_pos = self.pos;
            self.op = 0;
            self.op = self.u8().map_err(|k| self.fail(k))?;
            match self.step(joblib) {
                Ok(true) => return self.pop().map_err(|k| self.fail(k)),
                Ok(false) => {}
                Err(k) => return Err(self.fail(k)),
            }
        }
    }

    /// Executes one opcode; true on STOP.
    fn step(&mut self, joblib: bool) -> Result<bool, ErrorKind> {
        // Opcodes that push one new object; the others are in `effect`.
        let node = match self.op {
            b'.' => return Ok(true),
            b'N' => Node::None,
            0x88 => Node::Bool(true),
            0x89 => Node::Bool(false),
            b'J' => Node::Int(i32::from_le_bytes(self.arr()?).into()),
            b'K' => Node::Int(self.u8()?.into()),
            b'M' => Node::Int(u16::from_le_bytes(self.arr()?).into()),
            b'I' | b'L' => match self.line_int()? {
                (_, "00") => Node::Bool(false),
                (_, "01") => Node::Bool(true),
                (v, _) => Node::Int(v),
            },
            0x8a => {
                let n = self.u8()?;
                long(self.take(n.into())?)
            }
            0x8b => {
                let n = i32::from_le_bytes(self.arr()?);
                long(self.take(u64::try_from(n).map_err(|_| bad("negative LONG4 length"))?)?)
            }
            b'G' => Node::Float(f64::from_be_bytes(self.arr()?)),
            b'F' => {
                let l = self.line_str()?;
                Node::Float(l.trim().parse().map_err(|_| bad(format!("FLOAT `{l}`")))?)
            }
            0x8c => {
                let n = self.u8()?;
                self.utf8(n.into())?
            }
            b'X' => {
                let n = self.u32()?;
                self.utf8(n.into())?
            }
            0x8d => {
                let n = self.u64()?;
                self.utf8(n)?
            }
            b'V' => Node::Str(raw_unicode_escape(self.line()?)?),
            b'C' | b'B' | 0x8e | 0x96 | b'U' | b'T' => {
                let n = match self.op {
                    b'C' | b'U' => self.u8()?.into(),
                    b'B' | b'T' => self.u32()?.into(),
                    _ => self.u64()?,
                };
                let b = self.take(n)?.to_vec();
                match self.op {
                    b'U' | b'T' => py2_str(b),
                    _ => Node::Bytes(b),
                }
            }
            b')' => Node::Tuple(Vec::new()),
            b']' => Node::List(Vec::new()),
            b'}' => Node::Dict(Vec::new()),
            0x8f => Node::Set(Vec::new()),
            b't' | b'l' | 0x91 => {
                let items = self.pop_mark()?;
                self.charge(items.len())?;
                match self.op {
                    b't' => Node::Tuple(items),
                    b'l' => Node::List(items),
                    _ => Node::Set(items),
                }
            }
            0x85..=0x87 => {
                let n = usize::from(self.op - 0x84);
                let at = self
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or(bad("stack underflow"))?;
                self.charge(n)?;
                Node::Tuple(self.stack.split_off(at))
            }
            b'd' => {
                let pairs = pairs(self.pop_mark()?)?;
                self.charge(pairs.len())?;
                Node::Dict(pairs)
            }
            b'c' => {
                let module = self.line_str()?;
                let name = self.line_str()?;
                self.global(module, name)?
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(m), Some(n)) = (self.str_of(module), self.str_of(name)) else {
                    return invalid("STACK_GLOBAL needs two str");
                };
                self.global(m, n)?
            }
            _ => {
                self.effect(joblib)?;
                return Ok(false);
            }
        };
        self.push_new(node)?;
        Ok(false)
    }

    /// Executes an opcode that does not simply push a new object.
    fn effect(&mut self, joblib: bool) -> Result<(), ErrorKind> {
        let unsupported = |what: &str| Err(ErrorKind::Unsupported(what.into()));
        match self.op {
            0x80 => {
                let p = self.u8()?;
                if p > 5 {
                    return Err(ErrorKind::Unsupported(format!("pickle protocol {p}")));
                }
            }
            0x95 => {
                // FRAME: the frame's bytes simply follow; joblib's array data comes after
                // a frame, so reading the stream sequentially is all that is needed.
                let n = self.u64()?;
                if usize::try_from(n).map_or(true, |n| n > self.data.len().saturating_sub(self.pos))
                {
                    return Err(ErrorKind::Truncated);
                }
            }
            b'S' => return unsupported("protocol-0 STRING (a Python 2 pickle)"),
            0x97 | 0x98 => return unsupported("out-of-band buffers (protocol 5 buffer_callback)"),
            b'P' | b'Q' => return unsupported("persistent ids"),
            0x82..=0x84 => return unsupported("extension registry codes"),
            b'(' => {
                if self.meta.len() >= self.limits.max_depth {
                    return Err(ErrorKind::Limit(format!(
                        "MARKs nested deeper than {} (Limits::max_depth)",
                        self.limits.max_depth
                    )));
                }
                let cur = std::mem::take(&mut self.stack);
                self.meta.push(cur);
            }
            b'0' => {
                if self.stack.pop().is_none() {
                    self.pop_mark()?;
                }
            }
            b'1' => drop(self.pop_mark()?),
            b'2' => {
                let t = self.top()?;
                self.charge(1)?;
                self.push(t)?
            }
            b'p' | b'q' | b'r' | 0x94 => {
                let key = match self.op {
                    b'p' => self.memo_key()?,
                    b'q' => self.u8()?.into(),
                    b'r' => self.u32()?.into(),
                    _ => self.memo.len() as u64,
                };
                let t = self.top()?;
                self.charge(1)?;
                self.memo.insert(key, t);
            }
            b'g' | b'h' | b'j' => {
                let key = match self.op {
                    b'g' => self.memo_key()?,
                    b'h' => self.u8()?.into(),
                    _ => self.u32()?.into(),
                };
                let id = *self
                    .memo
                    .get(&key)
                    .ok_or_else(|| bad(format!("memo key {key} not found")))?;
                self.charge(1)?;
                self.push(id)?
            }
            b'a' | b'e' | 0x90 => {
                let items = if self.op == b'a' {
                    vec![self.pop()?]
                } else {
                    self.pop_mark()?
                };
                self.charge(items.len())?;
                let t = self.top()?;
                match (self.op, self.node_mut(t)?) {
                    (b'a' | b'e', Node::List(v)) | (0x90, Node::Set(v)) => v.extend(items),
                    _ => return invalid("APPEND/ADDITEMS target is not a list/set"),
                }
            }
            b's' | b'u' => {
                let items = if self.op == b's' {
                    let v = self.pop()?;
                    vec![(self.pop()?, v)]
                } else {
                    pairs(self.pop_mark()?)?
                };
                self.charge(items.len())?;
                let t = self.top()?;
                match self.node_mut(t)? {
                    Node::Dict(v) => v.extend(items),
                    _ => return invalid("SETITEM target is not a dict"),
                }
            }
            b'i' => {
                let module = self.line_str()?;
                let name = self.line_str()?;
                let Node::Global { module, name } = self.global(module, name)? else {
                    return invalid("INST");
                };
                let args = self.pop_mark()?;
                self.call(&module, &name, args)?
            }
            b'o' => {
                let mut items = self.pop_mark()?.into_iter();
                let cls = items.next().ok_or(bad("OBJ without a class"))?;
                self.call_id(cls, items.collect(), false)?
            }
            b'R' | 0x81 | 0x92 => {
                let kwargs = if self.op == 0x92 {
                    Some(self.pop()?)
                } else {
                    None
                };
                let args = self.pop()?;
                let f = self.pop()?;
                let mut args = self
                    .seq_of(args)
                    .ok_or(bad("arguments are not a tuple"))?
                    .to_vec();
                // NEWOBJ_EX: non-empty keyword arguments are passed as a final dict.
                args.extend(
                    kwargs.filter(|&k| !matches!(self.node(k), Node::Dict(d) if d.is_empty())),
                );
                self.call_id(f, args, false)?
            }
            b'b' => {
                let state = self.pop()?;
                let t = self.top()?;
                self.build(t, state, joblib)?
            }
            op => return invalid(format!("unknown opcode {op:#04x}")),
        }
        Ok(())
    }

    /// REDUCE / NEWOBJ / OBJ on the node `f`, which must be a global.
    fn call_id(&mut self, f: Id, args: Vec<Id>, in_copyreg: bool) -> Result<(), ErrorKind> {
        match self.node(f) {
            // copyreg helpers naming a copyreg helper as class would recurse without bound.
            Node::Global { module, .. } if in_copyreg && module == "copyreg" => {
                invalid("copyreg helper applied to a copyreg helper")
            }
            Node::Global { module, name } => {
                let (module, name) = (module.clone(), name.clone());
                self.call(&module, &name, args)
            }
            _ => invalid("called object is not a global"),
        }
    }

    /// Interprets a call of an allowed global; anything not special becomes an Object.
    fn call(&mut self, module: &str, name: &str, args: Vec<Id>) -> Result<(), ErrorKind> {
        self.charge(args.len())?;
        let arg = |i: usize| args.get(i).copied();
        let node = match (module, name) {
            ("_codecs", "encode") => {
                let s = arg(0)
                    .and_then(|a| self.str_of(a))
                    .ok_or(bad("_codecs.encode of a non-str"))?;
                let enc = arg(1)
                    .and_then(|a| self.str_of(a))
                    .unwrap_or("utf-8")
                    .to_ascii_lowercase();
                match enc.as_str() {
                    "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => Node::Bytes(latin1(s)?),
                    "utf-8" | "utf8" => Node::Bytes(s.as_bytes().to_vec()),
                    _ => return Err(ErrorKind::Unsupported(format!("_codecs.encode to `{enc}`"))),
                }
            }
            ("builtins", "bytes" | "bytearray") if args.is_empty() => Node::Bytes(Vec::new()),
            ("builtins", "bytearray") if args.len() == 1 => {
                Node::Bytes(self.bytes_of(arg(0).unwrap_or(0))?.into_owned())
            }
            ("builtins", "set" | "frozenset") => {
                let items = match arg(0) {
                    None => Vec::new(),
                    Some(a) => match self.node(a) {
                        Node::List(v) | Node::Tuple(v) | Node::Set(v) => v.clone(),
                        _ => return invalid("set() of a non-sequence"),
                    },
                };
                self.charge(items.len())?;
                Node::Set(items)
            }
            ("builtins", "slice") => {
                let mut v = [None; 3];
                let args: Vec<Option<i64>> =
                    args.iter()
                        .map(|&a| match self.node(a) {
                            Node::None => Ok(None),
                            _ => self.int_of(a).map(Some).ok_or_else(|| {
                                ErrorKind::Unsupported("non-int slice bound".into())
                            }),
                        })
                        .collect::<Result<_, _>>()?;
                match args.as_slice() {
                    [stop] => v[1] = *stop,
                    [a, b] => v = [*a, *b, None],
                    [a, b, c] => v = [*a, *b, *c],
                    _ => return invalid("slice() takes 1 to 3 arguments"),
                }
                Node::Slice(v)
            }
            ("collections", "OrderedDict") => {
                let mut items = Vec::new();
                if let Some(a) = arg(0) {
                    for &p in self.seq_of(a).ok_or(bad("OrderedDict of a non-list"))? {
                        match self.seq_of(p) {
                            Some(&[k, v]) => items.push((k, v)),
                            _ => return invalid("OrderedDict item is not a pair"),
                        }
                    }
                }
                self.charge(items.len())?;
                Node::Dict(items)
            }
            ("copyreg", "_reconstructor") => {
                let cls = arg(0).ok_or(bad("_reconstructor without class"))?;
                let rest: Vec<Id> = arg(2)
                    .filter(|&s| !matches!(self.node(s), Node::None))
                    .into_iter()
                    .collect();
                return self.call_id(cls, rest, true);
            }
            ("copyreg", "__newobj__" | "__newobj_ex__") => {
                let cls = arg(0).ok_or(bad("__newobj__ without class"))?;
                return self.call_id(cls, args.get(1..).unwrap_or_default().to_vec(), true);
            }
            (m, "_reconstruct") if is_numpy(m, "multiarray") => Node::PendingArray,
            ("numpy", "dtype") => {
                let spec = arg(0)
                    .and_then(|a| self.str_of(a))
                    .ok_or(bad("numpy.dtype of a non-str"))?;
                Node::Dtype(Dtype::parse(spec).map_err(bad)?)
            }
            (m, "scalar") if is_numpy(m, "multiarray") => {
                let (Some(dt), Some(raw)) = (arg(0), arg(1)) else {
                    return invalid("scalar() takes 2 arguments");
                };
                let dt = self.dtype_of(dt)?;
                if dt.is_object() {
                    return self.push(raw);
                }
                let raw = self.bytes_of(raw)?;
                match (dt.kind, dt.size) {
                    (b'U', 0) => return self.push_new(Node::Str(String::new())),
                    (b'S', 0) => return self.push_new(Node::Bytes(Vec::new())),
                    _ => {}
                }
                match dt.decode(&raw, 1).map_err(bad)? {
                    ArrayData::F32(v) => Node::Float(v.first().map_or(0.0, |&x| x.into())),
                    ArrayData::F64(v) => Node::Float(v.first().copied().unwrap_or(0.0)),
                    ArrayData::I32(v) => Node::Int(v.first().map_or(0, |&x| x.into())),
                    ArrayData::I64(v) => Node::Int(v.first().copied().unwrap_or(0)),
                    ArrayData::U8(v) => Node::Int(v.first().map_or(0, |&x| x.into())),
                    ArrayData::Bool(v) => Node::Bool(v.first().copied().unwrap_or(false)),
                    ArrayData::Object(v) => match v.into_iter().next() {
                        Some(Value::Str(s)) => Node::Str(s),
                        Some(Value::Bytes(b)) => Node::Bytes(b),
                        _ => return invalid("bad numpy scalar"),
                    },
                }
            }
            (m, "_frombuffer") if is_numpy(m, "numeric") => {
                let (Some(buf), Some(dt), Some(shape), Some(order)) =
                    (arg(0), arg(1), arg(2), arg(3))
                else {
                    return invalid("_frombuffer() takes 4 arguments");
                };
                let (dt, shape) = (self.dtype_of(dt)?, self.shape_of(shape)?);
                let fortran = self.str_of(order) == Some("F");
                array_node(&dt, &self.bytes_of(buf)?, shape, fortran)?
            }
            (m, "_ufunc_reconstruct") if m == "numpy.core" || m == "numpy._core" => {
                let (Some(m), Some(n)) = (
                    arg(0).and_then(|a| self.str_of(a)),
                    arg(1).and_then(|a| self.str_of(a)),
                ) else {
                    return invalid("_ufunc_reconstruct() takes 2 str");
                };
                let (m, n) = (m.to_owned(), n.to_owned());
                self.global(&m, &n)?
            }
            _ => Node::Object {
                module: module.into(),
                name: name.into(),
                args,
                state: None,
            },
        };
        self.push_new(node)
    }

    fn build(&mut self, target: Id, state: Id, joblib: bool) -> Result<(), ErrorKind> {
        let new = match self.node(target) {
            Node::PendingArray => self.build_array(state)?,
            Node::Dtype(d) => {
                let mut d = d.clone();
                let st = self.seq_of(state).unwrap_or_default();
                let order = st.get(1).and_then(|&o| self.str_of(o));
                let fields = st
                    .get(3)
                    .is_some_and(|&f| !matches!(self.node(f), Node::None));
                let elsize = st.get(5).and_then(|&e| self.int_of(e));
                d.set_state(order, fields, elsize);
                Node::Dtype(d)
            }
            Node::Object { module, name, .. } => {
                let wrapper =
                    name == "NumpyArrayWrapper" && module.ends_with("joblib.numpy_pickle");
                if let Node::Object { state: s, .. } = self.node_mut(target)? {
                    *s = Some(state);
                }
                if !(wrapper && joblib) {
                    return Ok(());
                }
                self.read_joblib_array(state)?
            }
            _ => return invalid("BUILD on an object that takes no state"),
        };
        self.charge(payload(&new) / 64)?;
        *self.node_mut(target)? = new;
        Ok(())
    }

    /// BUILD state of `_reconstruct`: `(version, shape, dtype, is_fortran, rawdata)`.
    fn build_array(&mut self, state: Id) -> Result<Node, ErrorKind> {
        let st = self
            .seq_of(state)
            .ok_or(bad("ndarray state is not a tuple"))?;
        let (shape, dt, fortran, raw) = match *st {
            [_, s, d, f, r] | [s, d, f, r] => (s, d, f, r),
            _ => return invalid("ndarray state has the wrong length"),
        };
        let (shape, dt) = (self.shape_of(shape)?, self.dtype_of(dt)?);
        let fortran = self.int_of(fortran).is_some_and(|f| f != 0);
        if dt.is_object() {
            // Object arrays pickle their items as a list in C order, whatever is_fortran.
            let items = self
                .seq_of(raw)
                .ok_or(bad("object array data is not a list"))?;
            if numpy::numel(&shape) != Some(items.len()) {
                return invalid("object array data does not match its shape");
            }
            let items = items.to_vec();
            self.charge(items.len())?;
            return Ok(Node::ObjArray { shape, items });
        }
        array_node(&dt, &self.bytes_of(raw)?, shape, fortran)
    }

    /// joblib's NumpyUnpickler.load_build: the array bytes follow the BUILD opcode (after a
    /// padding-length byte and padding when `numpy_array_alignment_bytes` is set); object
    /// arrays follow as a nested protocol-5 pickle with its own stack and memo.
    fn read_joblib_array(&mut self, state: Id) -> Result<Node, ErrorKind> {
        let field = |k: &str| {
            self.dict_get(state, k)
                .ok_or_else(|| bad(format!("NumpyArrayWrapper without `{k}`")))
        };
        let (shape, dt, order) = (field("shape")?, field("dtype")?, field("order")?);
        let (shape, dt) = (self.shape_of(shape)?, self.dtype_of(dt)?);
        let fortran = self.str_of(order) == Some("F");
        let aligned = self
            .dict_get(state, "numpy_array_alignment_bytes")
            .is_some_and(|a| !matches!(self.node(a), Node::None));
        if dt.is_object() {
            let saved = (
                std::mem::take(&mut self.stack),
                std::mem::take(&mut self.meta),
                std::mem::take(&mut self.memo),
            );
            let (op_pos, op) = (self.op_pos, self.op);
            let inner = self
                .run(false)
                .map_err(|e| bad(format!("in the nested pickle of an object array: {e}")))?;
            (self.stack, self.meta, self.memo) = saved;
            (self.op_pos, self.op) = (op_pos, op);
            let n = std::mem::replace(self.node_mut(inner)?, Node::Taken);
            return match n {
                Node::ObjArray { .. } | Node::Array(_) => Ok(n),
                _ => invalid("nested pickle of an object array holds no array"),
            };
        }
        if aligned {
            let pad = self.u8()?;
            self.take(pad.into())?;
        }
        let count = numpy::numel(&shape).ok_or(bad("array shape overflows"))?;
        let len = count
            .checked_mul(dt.size)
            .ok_or(bad("array size overflows"))?;
        let raw = self.take(len as u64)?;
        array_node(&dt, raw, shape, fortran)
    }

    // ---- conversion to the owned tree --------------------------------------------------

    /// Turns the arena into a tree rooted at `root`, expanding shared references within the
    /// `max_nodes` budget; nodes referenced once are moved rather than copied.
    pub fn into_value(mut self, root: Id) -> R<Value> {
        let mut refs = vec![0u32; self.arena.len()];
        let mut count = |id: &Id| {
            if let Some(r) = refs.get_mut(*id) {
                *r = r.saturating_add(1);
            }
        };
        count(&root);
        for n in &self.arena {
            match n {
                Node::List(v) | Node::Tuple(v) | Node::Set(v) | Node::ObjArray { items: v, .. } => {
                    v.iter().for_each(&mut count)
                }
                Node::Dict(v) => v.iter().for_each(|(k, x)| {
                    count(k);
                    count(x)
                }),
                Node::Object { args, state, .. } => args.iter().chain(state).for_each(&mut count),
                _ => {}
            }
        }
        let mut cx = Conv {
            on_path: vec![false; self.arena.len()],
            refs,
            budget: self.limits.max_nodes,
            max_depth: self.limits.max_depth,
        };
        cx.conv(&mut self.arena, root, 0, true)
            .map_err(PickleError::plain)
    }
}

struct Conv {
    refs: Vec<u32>,
    on_path: Vec<bool>,
    budget: usize,
    max_depth: usize,
}

impl Conv {
    fn conv(
        &mut self,
        arena: &mut [Node],
        id: Id,
        depth: usize,
        unique: bool,
    ) -> Result<Value, ErrorKind> {
        if depth > self.max_depth {
            return Err(ErrorKind::Limit(format!(
                "objects nested deeper than {} (Limits::max_depth)",
                self.max_depth
            )));
        }
        let unique = unique && self.refs.get(id).is_some_and(|&r| r <= 1);
        let node = arena.get_mut(id).ok_or(bad("dangling reference"))?;
        let cost = 1 + payload(node) / 64;
        self.budget = self.budget.checked_sub(cost).ok_or_else(|| {
            ErrorKind::Limit(
                "result too large after expanding shared references (Limits::max_nodes)".into(),
            )
        })?;
        let node = if unique {
            std::mem::replace(node, Node::Taken)
        } else {
            node.clone()
        };
        if let Some(p) = self.on_path.get_mut(id) {
            if *p {
                return Err(ErrorKind::Unsupported("reference cycle".into()));
            }
            *p = true;
        }
        let d = depth + 1;
        let mut all = |cx: &mut Self, v: Vec<Id>| {
            v.into_iter()
                .map(|c| cx.conv(arena, c, d, unique))
                .collect::<Result<Vec<_>, _>>()
        };
        let out = match node {
            Node::None => Value::None,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(i) => Value::Int(i),
            Node::BigInt(b) => Value::BigInt(b),
            Node::Float(f) => Value::Float(f),
            Node::Str(s) => Value::Str(s),
            Node::Bytes(b) => Value::Bytes(b),
            Node::List(v) => Value::List(all(self, v)?),
            Node::Tuple(v) => Value::Tuple(all(self, v)?),
            Node::Set(v) => Value::Set(all(self, v)?),
            Node::Dict(v) => {
                let mut out = Vec::with_capacity(v.len());
                for (k, x) in v {
                    out.push((
                        self.conv(arena, k, d, unique)?,
                        self.conv(arena, x, d, unique)?,
                    ));
                }
                Value::Dict(out)
            }
            Node::Slice([a, b, c]) => Value::Slice(a, b, c),
            Node::Global { module, name } => Value::Global { module, name },
            Node::Object {
                module,
                name,
                args,
                state,
            } => Value::Object {
                module,
                name,
                args: all(self, args)?,
                state: match state {
                    Some(s) => Some(Box::new(self.conv(arena, s, d, unique)?)),
                    None => None,
                },
            },
            Node::Dtype(dt) => Value::Object {
                module: "numpy".into(),
                name: "dtype".into(),
                args: vec![Value::Str(dt.descr())],
                state: None,
            },
            Node::Array(a) => Value::Array(a),
            Node::ObjArray { shape, items } => Value::Array(NdArray {
                shape,
                data: ArrayData::Object(all(self, items)?),
            }),
            Node::PendingArray => return invalid("numpy array without its BUILD state"),
            Node::Taken => return invalid("object used after being moved"),
        };
        if let Some(p) = self.on_path.get_mut(id) {
            *p = false;
        }
        Ok(out)
    }
}

fn array_node(dt: &Dtype, raw: &[u8], shape: Vec<usize>, fortran: bool) -> Result<Node, ErrorKind> {
    let count = numpy::numel(&shape).ok_or(bad("array shape overflows"))?;
    let data = dt.decode(raw, count).map_err(bad)?;
    let data = if fortran {
        numpy::reorder(data, &shape)
    } else {
        data
    };
    Ok(Node::Array(NdArray { shape, data }))
}

/// Size of a node's data, for the work budget (which charges one unit per 64 of these).
fn payload(n: &Node) -> usize {
    match n {
        Node::Str(s) => s.len(),
        Node::Bytes(b) | Node::BigInt(b) => b.len(),
        Node::Array(a) => a.data.len(),
        _ => 0,
    }
}

/// Pairs up SETITEMS/DICT items.
fn pairs(items: Vec<Id>) -> Result<Vec<(Id, Id)>, ErrorKind> {
    if items.len() % 2 != 0 {
        return invalid("odd number of dict items");
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// LONG1/LONG4 payload: little-endian two's complement.
fn long(b: &[u8]) -> Node {
    let neg = b.last().is_some_and(|&x| x & 0x80 != 0);
    let ext = if neg { 0xff } else { 0 };
    if b.iter().skip(8).any(|&x| x != ext)
        || (b.len() > 8 && b.get(7).is_some_and(|&x| (x & 0x80 != 0) != neg))
    {
        return Node::BigInt(b.to_vec());
    }
    let mut a = [ext; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    Node::Int(i64::from_le_bytes(a))
}

/// A Python 2 `str`: text if ASCII, bytes otherwise.
fn py2_str(b: Vec<u8>) -> Node {
    if b.is_ascii() {
        Node::Str(b.into_iter().map(char::from).collect())
    } else {
        Node::Bytes(b)
    }
}

/// Protocol-0 UNICODE argument: latin-1 text with `\uXXXX` / `\UXXXXXXXX` escapes.
fn raw_unicode_escape(l: &[u8]) -> Result<String, ErrorKind> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while let Some(&c) = l.get(i) {
        let n = match (c, l.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                out.push(char::from(c));
                i += 1;
                continue;
            }
        };
        let hex = l
            .get(i + 2..i + 2 + n)
            .and_then(|h| std::str::from_utf8(h).ok());
        let ch = hex
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        out.push(ch.ok_or(bad("bad \\u escape"))?);
        i += 2 + n;
    }
    Ok(out)
}

#[rustfmt::skip]
const OPS: &[(u8, &str)] = &[
    (b'(', "MARK"), (b'.', "STOP"), (b'0', "POP"), (b'1', "POP_MARK"), (b'2', "DUP"),
    (b'F', "FLOAT"), (b'I', "INT"), (b'J', "BININT"), (b'K', "BININT1"), (b'L', "LONG"),
    (b'M', "BININT2"), (b'N', "NONE"), (b'P', "PERSID"), (b'Q', "BINPERSID"), (b'R', "REDUCE"),
    (b'S', "STRING"), (b'T', "BINSTRING"), (b'U', "SHORT_BINSTRING"), (b'V', "UNICODE"),
    (b'X', "BINUNICODE"), (b'a', "APPEND"), (b'b', "BUILD"), (b'c', "GLOBAL"), (b'd', "DICT"),
    (b'}', "EMPTY_DICT"), (b'e', "APPENDS"), (b'g', "GET"), (b'h', "BINGET"), (b'i', "INST"),
    (b'j', "LONG_BINGET"), (b'l', "LIST"), (b']', "EMPTY_LIST"), (b'o', "OBJ"), (b'p', "PUT"),
    (b'q', "BINPUT"), (b'r', "LONG_BINPUT"), (b's', "SETITEM"), (b't', "TUPLE"),
    (b')', "EMPTY_TUPLE"), (b'u', "SETITEMS"), (b'G', "BINFLOAT"), (b'B', "BINBYTES"),
    (b'C', "SHORT_BINBYTES"), (0x80, "PROTO"), (0x81, "NEWOBJ"), (0x82, "EXT1"),
    (0x83, "EXT2"), (0x84, "EXT4"), (0x85, "TUPLE1"), (0x86, "TUPLE2"), (0x87, "TUPLE3"),
    (0x88, "NEWTRUE"), (0x89, "NEWFALSE"), (0x8a, "LONG1"), (0x8b, "LONG4"),
    (0x8c, "SHORT_BINUNICODE"), (0x8d, "BINUNICODE8"), (0x8e, "BINBYTES8"),
    (0x8f, "EMPTY_SET"), (0x90, "ADDITEMS"), (0x91, "FROZENSET"), (0x92, "NEWOBJ_EX"),
    (0x93, "STACK_GLOBAL"), (0x94, "MEMOIZE"), (0x95, "FRAME"), (0x96, "BYTEARRAY8"),
    (0x97, "NEXT_BUFFER"), (0x98, "READONLY_BUFFER"),
];

fn op_name(op: u8) -> &'static str {
    OPS.iter().find(|(c, _)| *c == op).map_or("?", |(_, n)| n)
}
