//! Skip connections: `Add(r, Dense(x))` (either operand order) becomes one `Residual` op when the
//! Dense feeds only that Add. The skip is added in the same pass over the layer output that
//! applies the activation, so the separate Add — a full read-modify-write of the row and a
//! buffer — disappears. Exact: float addition commutes, and nothing else changes.

use crate::PassError;
use lamarrc_ir::{BinaryOp, Function, Module, Op};

pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.functions {
        changed |= function(f);
    }
    if changed {
        crate::dce::run(m)?;
    }
    Ok(changed)
}

fn function(f: &mut Function) -> bool {
    let uses = f.use_counts();
    let mut changed = false;
    for i in 0..f.nodes.len() {
        if f.nodes[i].op != Op::Binary(BinaryOp::Add) {
            continue;
        }
        let (a, b) = (f.nodes[i].args[0], f.nodes[i].args[1]);
        for (d, r) in [(b, a), (a, b)] {
            if d == r || uses[d.index()] != 1 {
                continue;
            }
            let Op::Dense {
                units,
                kernel,
                bias,
                activation,
            } = &f.nodes[d.index()].op
            else {
                continue;
            };
            let op = Op::Residual {
                units: *units,
                kernel: kernel.clone(),
                bias: bias.clone(),
                activation: activation.clone(),
            };
            let x = f.nodes[d.index()].args[0];
            let dense_origin = f.nodes[d.index()].origin.clone();
            let node = &mut f.nodes[i];
            node.origin = crate::merged_origin(&dense_origin, &node.origin);
            node.op = op;
            node.args = vec![x, r];
            changed = true;
            break;
        }
    }
    changed
}
