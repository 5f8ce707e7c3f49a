//! `lamarrc bench`: per-row latency and batched throughput of compiled code, measured in
//! process. Numbers only; never used as assertions (machines are shared and noisy).

use lamarrc_runtime::Entry;
use std::time::Instant;

pub struct Timing {
    pub what: String,
    /// Median over repetitions, nanoseconds per row.
    pub ns_per_row: f64,
}

/// Deterministic pseudo-random rows in [-2, 2] (SplitMix64), so runs are comparable.
pub fn synthetic_rows(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E3779B97F4A7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Times `entry` one row at a time over `rows` distinct rows (cycled), and batched.
pub fn run(
    entry: &Entry,
    inputs: &[Vec<f32>],
    rows: usize,
    batches: &[usize],
    budget_ms: u64,
) -> Vec<Timing> {
    let mut out = Vec::new();
    let info = &entry.info;
    let mut sink = 0f32;
    // Per row: calibrate the repetition count to ~budget/7 per repetition, 7 repetitions.
    let one = |r: usize| -> Vec<f32> {
        let row: Vec<&[f32]> = inputs
            .iter()
            .zip(&info.inputs)
            .map(|(x, &w)| &x[r * w..(r + 1) * w])
            .collect();
        entry.call(&row).expect("widths checked")
    };
    let per_rep = std::time::Duration::from_millis(budget_ms.max(7) / 7);
    let mut samples = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let mut n = 0usize;
        while t.elapsed() < per_rep {
            for r in 0..rows.min(64) {
                sink += one((n + r) % rows)[0];
            }
            n += rows.min(64);
        }
        samples.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    out.push(Timing {
        what: "row (NAME, one call per row)".into(),
        ns_per_row: median(samples),
    });
    for &b in batches {
        let b = b.min(rows).max(1);
        let slices: Vec<&[f32]> = inputs
            .iter()
            .zip(&info.inputs)
            .map(|(x, &w)| &x[..b * w])
            .collect();
        let mut samples = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let mut n = 0usize;
            while t.elapsed() < per_rep {
                sink += entry.call_batch(&slices, b).expect("widths checked")[0];
                n += b;
            }
            samples.push(t.elapsed().as_nanos() as f64 / n as f64);
        }
        out.push(Timing {
            what: format!("batch {b} (NAME_batch)"),
            ns_per_row: median(samples),
        });
    }
    std::hint::black_box(sink);
    out
}
