//! Error statistics of one output, compiled against reference, under the rule of
//! `lamarrc validate`: a row passes when |compiled − reference| ≤ atol + rtol·|reference|;
//! NaN matches NaN and equal infinities match; a non-finite value facing a different value
//! exceeds the tolerance.

/// Max, median and 99.9th percentile of a set of values (NaN when the set is empty).
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub max: f64,
    pub median: f64,
    pub p999: f64,
}

pub struct Stats {
    pub rows: usize,
    /// Of |compiled − reference|, over rows where both are finite.
    pub abs: Summary,
    /// Of |compiled − reference| / |reference|, over those rows whose reference is not 0.
    pub rel: Summary,
    /// Rows over tolerance, non-finite mismatches included.
    pub exceeding: usize,
    pub nonfinite_compiled: usize,
    pub nonfinite_reference: usize,
    /// Rows where one side is non-finite and the other is a different value.
    pub nonfinite_mismatch: usize,
    /// Finite rows whose reference is exactly 0: no relative error.
    pub zero_reference: usize,
    /// Signed compiled − reference, rows where both are finite.
    pub diff: Vec<f64>,
    /// Signed (compiled − reference)/|reference|, rows where both are finite and reference ≠ 0.
    pub rel_diff: Vec<f64>,
}

impl Stats {
    pub fn passed(&self) -> bool {
        self.exceeding == 0
    }
}

/// Linear interpolation between order statistics of a sorted slice; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn summary(values: &[f64]) -> Summary {
    let mut v: Vec<f64> = values.iter().map(|x| x.abs()).collect();
    v.sort_by(f64::total_cmp);
    Summary {
        max: v.last().copied().unwrap_or(f64::NAN),
        median: quantile(&v, 0.5),
        p999: quantile(&v, 0.999),
    }
}

pub fn compute(compiled: &[f32], reference: &[f32], atol: f64, rtol: f64) -> Stats {
    let rows = compiled.len().min(reference.len());
    let (mut exceeding, mut nf_c, mut nf_r, mut mismatch, mut zero_ref) = (0, 0, 0, 0, 0);
    let (mut diff, mut rel_diff) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for (&c, &r) in compiled.iter().zip(reference) {
        let (c, r) = (c as f64, r as f64);
        nf_c += usize::from(!c.is_finite());
        nf_r += usize::from(!r.is_finite());
        if !(c.is_finite() && r.is_finite()) {
            if !(c == r || c.is_nan() && r.is_nan()) {
                mismatch += 1;
                exceeding += 1;
            }
            continue;
        }
        let d = c - r;
        diff.push(d);
        if r == 0.0 {
            zero_ref += 1;
        } else {
            rel_diff.push(d / r.abs());
        }
        exceeding += usize::from(d.abs() > atol + rtol * r.abs());
    }
    Stats {
        rows,
        abs: summary(&diff),
        rel: summary(&rel_diff),
        exceeding,
        nonfinite_compiled: nf_c,
        nonfinite_reference: nf_r,
        nonfinite_mismatch: mismatch,
        zero_reference: zero_ref,
        diff,
        rel_diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_quantiles() {
        let c = [1.0, 2.0, f32::NAN, f32::INFINITY, 0.5, 1.0];
        let r = [1.0, 2.5, f32::NAN, 1.0, 0.0, 0.0];
        let s = compute(&c, &r, 0.1, 0.0);
        assert_eq!(s.rows, 6);
        assert_eq!((s.nonfinite_compiled, s.nonfinite_reference), (2, 1));
        assert_eq!(s.nonfinite_mismatch, 1);
        assert_eq!(s.zero_reference, 2);
        assert_eq!(s.exceeding, 4); // 2.0 vs 2.5, inf vs 1, 0.5 vs 0, 1 vs 0
        assert_eq!(s.abs.max, 1.0);
        assert_eq!(s.rel.max, 0.2);
        assert!(!s.passed());
    }

    #[test]
    fn empty_summary_is_nan() {
        let s = compute(&[], &[], 0.0, 0.0);
        assert!(s.abs.max.is_nan() && s.passed());
    }
}
