//! `lamarrc validate`: per-output error statistics of compiled outputs against a reference.

use crate::data::Matrix;
use std::fmt::Write;

pub struct ColumnStats {
    pub max_abs: f64,
    pub median_abs: f64,
    pub p999_abs: f64,
    pub max_rel: f64,
    pub exceeding: usize,
    pub non_finite: usize,
}

pub struct Report {
    pub columns: Vec<ColumnStats>,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Whether `a` differs from the reference `b` by more than `atol + rtol |b|`. NaN matches NaN; a
/// non-finite value where the reference is finite (or the reverse) exceeds.
fn exceeds(a: f64, b: f64, atol: f64, rtol: f64) -> bool {
    if a.is_nan() && b.is_nan() || a == b {
        return false;
    }
    let d = (a - b).abs();
    !d.is_finite() || d > atol + rtol * b.abs()
}

/// The network's agreement with Keras (README, Numerics): what a chain's outputs must meet
/// before the tY inverse when they miss the output tolerance.
pub const NETWORK_ATOL: f64 = 1e-5;
pub const NETWORK_RTOL: f64 = 1e-4;

/// Of the values of `y` beyond the tolerance, how many agree with the reference before the tY
/// inverse: `zy` and `zr` are tY applied to `y` and to the reference. Where tY's inverse is
/// steep (quantile segments of slope 70 and more), it amplifies the network's float32
/// round-off, which the reference (Keras in float32) carries as much as the compiled code, past
/// any fixed output tolerance; comparing before it tells that round-off from an error.
pub fn agree_before_ty(
    y: &Matrix,
    reference: &Matrix,
    zy: &[f32],
    zr: &[f32],
    atol: f64,
    rtol: f64,
) -> usize {
    (0..y.data.len())
        .filter(|&k| {
            exceeds(y.data[k] as f64, reference.data[k] as f64, atol, rtol)
                && !exceeds(zy[k] as f64, zr[k] as f64, NETWORK_ATOL, NETWORK_RTOL)
        })
        .count()
}

/// Compares `y` with `reference` column by column. NaN matches NaN; a non-finite value where
/// the reference is finite (or the reverse) counts as exceeding.
pub fn compare(y: &Matrix, reference: &Matrix, atol: f64, rtol: f64) -> Result<Report, String> {
    if (y.rows, y.cols) != (reference.rows, reference.cols) {
        return Err(format!(
            "the reference is {}x{}, the compiled model gives {}x{}",
            reference.rows, reference.cols, y.rows, y.cols
        ));
    }
    let mut columns = Vec::with_capacity(y.cols);
    for j in 0..y.cols {
        let mut abs = Vec::with_capacity(y.rows);
        let (mut max_rel, mut exceeding, mut non_finite) = (0.0f64, 0, 0);
        for i in 0..y.rows {
            let (a, b) = (
                y.data[i * y.cols + j] as f64,
                reference.data[i * y.cols + j] as f64,
            );
            if !a.is_finite() {
                non_finite += 1;
            }
            if a.is_nan() && b.is_nan() || a == b {
                abs.push(0.0);
                continue;
            }
            let d = (a - b).abs();
            if !d.is_finite() {
                exceeding += 1;
                continue;
            }
            abs.push(d);
            if b != 0.0 {
                max_rel = max_rel.max(d / b.abs());
            }
            if exceeds(a, b, atol, rtol) {
                exceeding += 1;
            }
        }
        abs.sort_by(|a, b| a.total_cmp(b));
        columns.push(ColumnStats {
            max_abs: abs.last().copied().unwrap_or(0.0),
            median_abs: quantile(&abs, 0.5),
            p999_abs: quantile(&abs, 0.999),
            max_rel,
            exceeding,
            non_finite,
        });
    }
    Ok(Report { columns })
}

impl Report {
    pub fn failed(&self) -> bool {
        self.total_exceeding() > 0
    }

    pub fn total_exceeding(&self) -> usize {
        self.columns.iter().map(|c| c.exceeding).sum()
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "{:>6}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9}  {:>10}\n",
            "output", "max abs", "median abs", "p99.9 abs", "max rel", "exceeding", "non-finite"
        );
        for (j, c) in self.columns.iter().enumerate() {
            let _ = writeln!(
                s,
                "{j:>6}  {:>10.3e}  {:>10.3e}  {:>10.3e}  {:>10.3e}  {:>9}  {:>10}",
                c.max_abs, c.median_abs, c.p999_abs, c.max_rel, c.exceeding, c.non_finite
            );
        }
        s
    }
}
