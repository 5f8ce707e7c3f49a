//! The standard normal distribution in f64: CDF through erfc, quantile function by Wichura's
//! AS241 (PPND16), accurate to about 1e-16 relative — the precision of scipy's `ndtri`, which
//! scikit-learn's QuantileTransformer calls. Written here because no small, maintained crate
//! exposes an `ndtri` of that accuracy.

/// `numpy.linspace(0, 1, n)` bit for bit: `i * (1 / (n - 1))`, the last value exactly 1.
pub fn linspace01(n: usize) -> Vec<f64> {
    if n < 2 {
        return vec![0.0; n];
    }
    let step = 1.0 / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
    v[n - 1] = 1.0;
    v
}

/// `Φ(x)`, as scipy's `ndtr`.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// Coefficients of AS241's three rational approximations (central, intermediate, tail).
pub const PPF_A: [f64; 8] = [
    3.387_132_872_796_366_5,
    1.331_416_678_917_843_8e2,
    1.971_590_950_306_551_3e3,
    1.373_169_376_550_946e4,
    4.592_195_393_154_987e4,
    6.726_577_092_700_87e4,
    3.343_057_558_358_813e4,
    2.509_080_928_730_122_7e3,
];
pub const PPF_B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091e1,
    6.871_870_074_920_579e2,
    5.394_196_021_424_751e3,
    2.121_379_430_158_659_7e4,
    3.930_789_580_009_271e4,
    2.872_908_573_572_194_3e4,
    5.226_495_278_852_545e3,
];
pub const PPF_C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    2.417_807_251_774_506e-1,
    2.272_384_498_926_918_4e-2,
    7.745_450_142_783_414e-4,
];
pub const PPF_D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    6.897_673_349_851e-1,
    1.481_039_764_274_800_8e-1,
    1.519_866_656_361_645_7e-2,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
pub const PPF_E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    2.965_605_718_285_048_7e-1,
    2.653_218_952_657_612_4e-2,
    1.242_660_947_388_078_4e-3,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
pub const PPF_F: [f64; 8] = [
    1.0,
    5.998_322_065_558_88e-1,
    1.369_298_809_227_358e-1,
    1.487_536_129_085_061_5e-2,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// `Φ⁻¹(p)`, as scipy's `ndtri`: `-inf` at 0, `+inf` at 1, NaN outside `[0, 1]`.
pub fn normal_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&PPF_A, r) / poly(&PPF_B, r);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&PPF_C, r) / poly(&PPF_D, r)
    } else {
        let r = r - 5.0;
        poly(&PPF_E, r) / poly(&PPF_F, r)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppf_inverts_cdf() {
        for &x in &[-8.0, -5.2, -3.0, -1.0, -0.1, 0.0, 0.3, 1.5, 2.9, 5.1] {
            let p = normal_cdf(x);
            let back = normal_ppf(p);
            // The CDF loses relative precision in p for large positive x (p near 1), so compare
            // where p is well resolved: tolerance 1e-9 absolute in x.
            if x < 5.0 {
                assert!((back - x).abs() < 1e-9, "x={x} p={p} back={back}");
            }
        }
    }

    #[test]
    fn ppf_matches_scipy() {
        // (p, scipy.stats.norm.ppf(p)) from scipy 1.x; AS241 promises ~1e-16 relative.
        let table = [
            (0.975, 1.959963984540054),
            (1e-7, -5.1993375821928165),
            (1e-7 - f64::EPSILON, -5.199337582605575),
            (1e-300, -37.0470962993612),
            (1e-20, -9.262340089798409),
            (0.01, -2.3263478740408408),
            (0.2, -0.8416212335729142),
            (0.500000001, 2.5066282037387115e-09),
            (0.7, 0.5244005127080407),
            (0.999, 3.090232306167813),
            (0.999999999999, 7.0344869100478356),
        ];
        for (p, want) in table {
            let got = normal_ppf(p);
            assert!(
                (got - want).abs() <= 4e-15 * want.abs().max(1e-300),
                "ppf({p}) = {got}, scipy {want}"
            );
        }
        assert_eq!(normal_ppf(0.5), 0.0);
        assert_eq!(normal_ppf(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_ppf(1.0), f64::INFINITY);
        assert!(normal_ppf(1.5).is_nan());
    }
}
