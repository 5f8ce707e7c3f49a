//! QuantileTransformer tables: when a transformer's references are exactly
//! `numpy.linspace(0, 1, n)` (scikit-learn always fits them so), mark them computed. Code then
//! evaluates `i / (n - 1)` with numpy's rounding instead of loading a table, and the table
//! search runs with the size known at compile time, so its ⌈log₂ n⌉ branch-free halving steps
//! are fully unrolled.

use crate::PassError;
use lamarrc_ir::special::linspace01;
use lamarrc_ir::{Module, Op};

pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.functions {
        for node in &mut f.nodes {
            if let Op::Quantile {
                references,
                linspace,
                ..
            } = &mut node.op
            {
                if !*linspace
                    && references
                        .iter()
                        .zip(linspace01(references.len()))
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                {
                    *linspace = true;
                    changed = true;
                }
            }
        }
    }
    Ok(changed)
}
