//! Dead-code elimination: drops every node that neither the result nor a live node uses.
//! Parameters stay (they are the C signature). Node order is kept; indices are compacted.

use crate::PassError;
use lamarrc_ir::{Function, Module, Op, ValueId};

pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.functions {
        changed |= function(f);
    }
    Ok(changed)
}

pub fn function(f: &mut Function) -> bool {
    let n = f.nodes.len();
    let mut live = vec![false; n];
    if let Some(r) = f.result {
        live[r.index()] = true;
    }
    for i in (0..n).rev() {
        if matches!(f.nodes[i].op, Op::Param { .. }) {
            live[i] = true;
        }
        if live[i] {
            for a in &f.nodes[i].args {
                live[a.index()] = true;
            }
        }
    }
    if live.iter().all(|&l| l) {
        return false;
    }
    let mut new_index = vec![u32::MAX; n];
    let mut nodes = Vec::with_capacity(n);
    for (i, node) in std::mem::take(&mut f.nodes).into_iter().enumerate() {
        if live[i] {
            new_index[i] = nodes.len() as u32;
            nodes.push(node);
        }
    }
    for node in &mut nodes {
        for a in &mut node.args {
            *a = ValueId(new_index[a.index()]);
        }
    }
    f.nodes = nodes;
    f.result = f.result.map(|r| ValueId(new_index[r.index()]));
    true
}
