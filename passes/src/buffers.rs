//! Static buffer planning: every non-parameter value gets a slot in one stack frame, reused once
//! the value is dead. A node never shares a slot with its own arguments (Dense reads all of its
//! input while writing its output), so no op has to care about aliasing.

use lamarrc_ir::{Function, Op};

/// Where each node lives: `None` for parameters (read straight from the caller's pointer),
/// else a slot index. Slots have a byte size and are 64-byte aligned.
pub struct Plan {
    pub slot_of: Vec<Option<usize>>,
    pub slot_bytes: Vec<usize>,
}

impl Plan {
    pub fn frame_bytes(&self) -> usize {
        self.slot_bytes.iter().map(|b| b.div_ceil(64) * 64).sum()
    }
}

pub fn plan(f: &Function) -> Plan {
    let n = f.nodes.len();
    let mut last_use = vec![0usize; n];
    for (i, node) in f.nodes.iter().enumerate() {
        for a in &node.args {
            last_use[a.index()] = i;
        }
    }
    if let Some(r) = f.result {
        last_use[r.index()] = usize::MAX;
    }
    let mut slot_of = vec![None; n];
    let mut slot_bytes: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    for (i, node) in f.nodes.iter().enumerate() {
        if matches!(node.op, Op::Param { .. }) {
            continue;
        }
        let bytes = node.ty.len * node.ty.dtype.size_bytes();
        // Best fit among free slots; grow the smallest adequate one if none fits.
        let pick = free
            .iter()
            .enumerate()
            .filter(|(_, &s)| slot_bytes[s] >= bytes)
            .min_by_key(|(_, &s)| slot_bytes[s])
            .map(|(k, _)| k)
            .or_else(|| {
                free.iter()
                    .enumerate()
                    .max_by_key(|(_, &s)| slot_bytes[s])
                    .map(|(k, _)| k)
            });
        let slot = match pick {
            Some(k) => {
                let s = free.swap_remove(k);
                slot_bytes[s] = slot_bytes[s].max(bytes);
                s
            }
            None => {
                slot_bytes.push(bytes);
                slot_bytes.len() - 1
            }
        };
        slot_of[i] = Some(slot);
        for a in &node.args {
            let a = a.index();
            if last_use[a] == i {
                if let Some(s) = slot_of[a] {
                    if !free.contains(&s) {
                        free.push(s);
                    }
                }
            }
        }
        // A value nobody reads is dead at once.
        if last_use[i] == 0 && f.result.map(|r| r.index()) != Some(i) {
            free.push(slot);
        }
    }
    Plan {
        slot_of,
        slot_bytes,
    }
}
