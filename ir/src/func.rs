//! Functions (one exported C entry point each) and modules (one library).

use crate::op::{Op, OpError};
use crate::types::Type;
use std::fmt;

/// Index of a node in its function's arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Where a node comes from in the user's files, e.g. `model.keras` / `layer #3 dense_2 (Dense)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub item: String,
}

impl Origin {
    pub fn new(file: impl Into<String>, item: impl Into<String>) -> Self {
        Origin {
            file: file.into(),
            item: item.into(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.item.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, "{}", self.file),
            (true, false) => write!(f, "{}", self.item),
            (false, false) => write!(f, "{}: {}", self.file, self.item),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: Op,
    pub args: Vec<ValueId>,
    pub ty: Type,
    pub origin: Origin,
}

/// A parameter of the exported C function: a `const float*` of `len` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub len: usize,
}

/// One exported entry point: `float* name(float* out, const float* p0, ...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    pub params: Vec<Param>,
    pub nodes: Vec<Node>,
    pub result: Option<ValueId>,
}

impl Function {
    pub fn new(name: impl Into<String>) -> Self {
        Function {
            name: name.into(),
            params: Vec::new(),
            nodes: Vec::new(),
            result: None,
        }
    }

    /// Declares a parameter and returns its value.
    pub fn param(&mut self, name: impl Into<String>, len: usize, origin: Origin) -> ValueId {
        let index = self.params.len();
        self.params.push(Param {
            name: name.into(),
            len,
        });
        self.push(Node {
            op: Op::Param { index },
            args: vec![],
            ty: Type::f32(len),
            origin,
        })
    }

    /// Appends a node whose type is inferred from its arguments.
    pub fn add(&mut self, op: Op, args: &[ValueId], origin: Origin) -> Result<ValueId, OpError> {
        let tys: Vec<Type> = args.iter().map(|a| self.ty(*a)).collect();
        let ty = op.infer(&tys)?;
        Ok(self.push(Node {
            op,
            args: args.to_vec(),
            ty,
            origin,
        }))
    }

    /// Appends a node as is (the verifier checks it later).
    pub fn push(&mut self, node: Node) -> ValueId {
        self.nodes.push(node);
        ValueId((self.nodes.len() - 1) as u32)
    }

    pub fn node(&self, v: ValueId) -> &Node {
        &self.nodes[v.index()]
    }

    pub fn ty(&self, v: ValueId) -> Type {
        self.nodes[v.index()].ty
    }

    /// The result value; a function without one is rejected by the verifier.
    pub fn result_value(&self) -> ValueId {
        self.result
            .expect("function has a result (checked by verify)")
    }

    pub fn result_type(&self) -> Option<Type> {
        self.result
            .filter(|r| r.index() < self.nodes.len())
            .map(|r| self.ty(r))
    }

    /// Total scalars of constant data.
    pub fn constant_count(&self) -> usize {
        self.nodes.iter().map(|n| n.op.constant_count()).sum()
    }

    /// Number of uses of every node (the result counts as a use).
    pub fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.nodes.len()];
        for n in &self.nodes {
            for a in &n.args {
                if let Some(u) = uses.get_mut(a.index()) {
                    *u += 1;
                }
            }
        }
        if let Some(r) = self.result {
            if let Some(u) = uses.get_mut(r.index()) {
                *u += 1;
            }
        }
        uses
    }
}

/// All entry points of one library.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    pub functions: Vec<Function>,
}

impl Module {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}
