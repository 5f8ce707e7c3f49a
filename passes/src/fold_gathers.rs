//! Column selections: a Concat whose operands are all Gathers of one value becomes one Gather
//! (their indices, in order), and a Gather of every element of its argument, in order, is that
//! argument. A generator's network takes its one `[conditions | noise]` buffer apart into the
//! Keras inputs (`gather [0..12]`, `gather [12..140]`) and its Concatenate layer puts them back:
//! an identity that cost two copies per row, and in an AVX-512 tile of eight rows 2 KiB of
//! spilled registers. Exact: values move, nothing is computed.

use crate::PassError;
use lamarrc_ir::{Function, Module, Op, ValueId};

pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.functions {
        changed |= concat_of_gathers(f);
        changed |= identity_gathers(f);
    }
    if changed {
        crate::dce::run(m)?;
    }
    Ok(changed)
}

/// `concat(gather[a] x, gather[b] x, …)` → `gather[a ++ b ++ …] x`.
fn concat_of_gathers(f: &mut Function) -> bool {
    let mut changed = false;
    for i in 0..f.nodes.len() {
        if f.nodes[i].op != Op::Concat || f.nodes[i].args.is_empty() {
            continue;
        }
        let mut source: Option<ValueId> = None;
        let mut indices = Vec::new();
        let all = f.nodes[i].args.iter().all(|a| {
            let n = &f.nodes[a.index()];
            match (&n.op, source) {
                (Op::Gather { indices: ix }, s) if s.is_none() || s == Some(n.args[0]) => {
                    source = Some(n.args[0]);
                    indices.extend_from_slice(ix);
                    true
                }
                _ => false,
            }
        });
        if let (true, Some(x)) = (all, source) {
            let node = &mut f.nodes[i];
            node.op = Op::Gather { indices };
            node.args = vec![x];
            changed = true;
        }
    }
    changed
}

/// `gather[0, 1, …, n-1] x` of an `n`-element `x` → `x`, in every use but the function's
/// result (which stays a value of its own).
fn identity_gathers(f: &mut Function) -> bool {
    let replace: Vec<Option<ValueId>> = f
        .nodes
        .iter()
        .map(|n| match &n.op {
            Op::Gather { indices }
                if indices.len() == f.ty(n.args[0]).len
                    && indices.iter().enumerate().all(|(k, &j)| k == j) =>
            {
                Some(n.args[0])
            }
            _ => None,
        })
        .collect();
    let mut changed = false;
    for node in &mut f.nodes {
        for a in &mut node.args {
            while let Some(x) = replace[a.index()] {
                *a = x;
                changed = true;
            }
        }
    }
    changed
}
