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
            if d > atol + rtol * b.abs() {
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
