//! The lamarrc tensor IR.
//!
//! A [`Module`] holds the exported [`Function`]s of one library. A function works on one row at a
//! time: every value is a 1-D vector of static length, f32 or f64 ([`Type`]). Nodes live in a
//! per-function arena in topological order (an argument always precedes its user), are referred to
//! by [`ValueId`], and carry an [`Origin`] naming the Keras layer or scikit-learn estimator they
//! come from, so that verifier and codegen errors can point back at the user's model.
//!
//! Invariants (checked by [`verify`]):
//! - arguments of node `i` are nodes `< i`;
//! - each node's stored type equals the type its op infers from its arguments;
//! - `Param` nodes are f32 and their lengths match the function's parameters;
//! - the function's result is f32 (the C ABI speaks `float`).
//!
//! Constants are stored as f64 whatever the value type: f32 weights convert exactly, and folding
//! passes compute in f64 before the single rounding at emission.

pub mod func;
pub mod interp;
pub mod op;
pub mod print;
pub mod special;
pub mod types;
pub mod verify;

pub use func::{Function, Module, Node, Origin, Param, ValueId};
pub use op::{BinaryOp, Distribution, Op, PowerMethod, QuantileColumn, UnaryOp};
pub use types::{DType, Type};
