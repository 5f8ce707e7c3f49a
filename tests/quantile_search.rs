//! The compiled QuantileTransformer searches (vectors of columns, look-ahead binary search,
//! the closed-form search of linspace references) find exactly the interpreter's table
//! entries, on the inputs where an off-by-one would hide: values equal to table entries, their
//! float32 neighbours, plateaus of repeated quantiles, the bounds, outside the table, NaN.
//!
//! Exactness is checked in float64 through the float32 ABI: the compiled function ends with
//! `y · 2^40 − ref · 2^40` (both products exact), which is 0 exactly when `y` has the reference's
//! bits. Uniform outputs must be bit-exact. Normal ones go through the compiled ndtri/ndtr, which
//! differ from the interpreter's in the last bits (tests/math_accuracy.rs), so they may differ by
//! 1e-15 relative; a search one entry off moves them by orders of magnitude more (a step of the
//! table, or across a plateau).

use lamarrc_ir::{DType, Distribution, Function, Module, Op, Origin, QuantileColumn};

/// Quantile op over `xs.len()` columns (one test point each, every column the same `table`),
/// compiled; returns the scaled differences from the interpreter (all zero when exact).
/// `prescale`: multiply the input by this in float64 first (to reach values a float32 cannot hold).
fn differences(
    dist: Distribution,
    inverse: bool,
    table: &[f64],
    n_ref: usize,
    xs: &[f32],
    prescale: Option<f64>,
) -> Vec<f32> {
    // scikit-learn's references_: numpy.linspace(0, 1, n).
    let references = lamarrc_ir::special::linspace01(n_ref);
    differences_on(dist, inverse, table, &references, xs, prescale)
}

/// [`differences`] with the given references.
fn differences_on(
    dist: Distribution,
    inverse: bool,
    table: &[f64],
    references: &[f64],
    xs: &[f32],
    prescale: Option<f64>,
) -> Vec<f32> {
    let build = |shift: Option<Vec<f64>>| {
        let mut f = Function::new("q");
        let p = f.param("in", xs.len(), Origin::default());
        let mut x = f
            .add(Op::Cast { to: DType::F64 }, &[p], Origin::default())
            .unwrap();
        if let Some(a) = prescale {
            let op = Op::Affine {
                scale: vec![a; xs.len()],
                shift: vec![0.0; xs.len()],
            };
            x = f.add(op, &[x], Origin::default()).unwrap();
        }
        let q = Op::Quantile {
            distribution: dist,
            inverse,
            references: references.to_vec(),
            columns: vec![
                QuantileColumn {
                    quantiles: table.to_vec()
                };
                xs.len()
            ],
            linspace: false,
        };
        let mut v = f.add(q, &[x], Origin::default()).unwrap();
        if let Some(shift) = shift {
            let scale = vec![2f64.powi(40); xs.len()];
            v = f
                .add(Op::Affine { scale, shift }, &[v], Origin::default())
                .unwrap();
            v = f
                .add(Op::Cast { to: DType::F32 }, &[v], Origin::default())
                .unwrap();
        }
        f.result = Some(v);
        Module { functions: vec![f] }
    };
    let plain = build(None);
    let want = lamarrc_ir::interp::run(&plain.functions[0], &[xs]).unwrap();
    // A NaN reference gives a NaN difference; compare those lanes as NaN-in-NaN-out instead.
    let shift: Vec<f64> = want
        .iter()
        .map(|w| if w.is_nan() { 0.0 } else { -w * 2f64.powi(40) })
        .collect();
    let mut m = build(Some(shift));
    // The passes recognise the linspace references (the closed-form search) as in a real build.
    lamarrc::driver::optimise(&mut m, lamarrc_passes::DEFAULT_PIPELINE, |_, _, _| {}).unwrap();
    let jit = lamarrc::codegen::jit::Jit::new(&m, &Default::default()).unwrap();
    let got = jit.entry("q").unwrap().call(&[xs]).unwrap();
    for ((g, w), x) in got.iter().zip(&want).zip(xs) {
        assert_eq!(
            g.is_nan(),
            w.is_nan(),
            "x = {x:e}: NaN where the reference is {w}"
        );
    }
    got.into_iter()
        .map(|g| if g.is_nan() { 0.0 } else { g })
        .collect()
}

fn neighbours(v: f32) -> [f32; 5] {
    let up = |x: f32| {
        f32::from_bits(if x >= 0.0 {
            x.to_bits() + 1
        } else {
            x.to_bits() - 1
        })
    };
    let down = |x: f32| {
        f32::from_bits(if x > 0.0 {
            x.to_bits() - 1
        } else {
            x.to_bits() + 1
        })
    };
    [down(down(v)), down(v), v, up(v), up(up(v))]
}

fn check(what: &str, d: &[f32], xs: &[f32], tolerance: f32) {
    let bad: Vec<String> = d
        .iter()
        .zip(xs)
        .filter(|(v, _)| v.abs() > tolerance)
        .take(5)
        .map(|(v, x)| format!("x = {x:e}: off by {v:e} (2^-40 units)"))
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?}");
}

/// In 2^-40 units: exact for uniform; 1e-15 of outputs up to ~5.2 (normal, clipped) for normal.
fn tolerance(dist: Distribution) -> f32 {
    match dist {
        Distribution::Uniform => 0.0,
        Distribution::Normal => (5.2e-15 * 2f64.powi(40)) as f32,
    }
}

/// The table entries to probe (each with its float32 neighbours): all of a short table; of a
/// long one, the first and last few, both ends of blocks of 32 and 64 (where the block search
/// switches block), and a spread of interior entries, so each function stays small enough to
/// compile quickly.
fn probed(table: &[f64]) -> impl Iterator<Item = f64> + '_ {
    let n = table.len();
    table
        .iter()
        .enumerate()
        .filter_map(move |(i, &q)| probe(n, i).then_some(q))
}

/// Whether entry `i` of an `n`-entry table is probed (see [`probed`]).
fn probe(n: usize, i: usize) -> bool {
    n <= 100
        || i < 4
        || i + 4 > n
        || (matches!(i % 32, 0 | 31) && (i / 32) % 3 == 0)
        || matches!(i % 64, 0 | 63)
        || i % 97 == 5
}

#[test]
fn searches_match_the_interpreter_bit_for_bit() {
    // 100 and up: the two-level block search (b = 16, 32, 64; 256, 1024 and 4096 fill every
    // block, so the last pivot counts).
    for n in [2usize, 5, 8, 9, 15, 33, 100, 256, 1000, 1024, 1025, 4096] {
        // Float32-exact quantiles with plateaus (ties), so inputs can equal entries exactly
        // (stored as float32); then the same table nudged off float32 (stored as float64).
        for nudge in [0.0, 1e-12] {
            let table: Vec<f64> = (0..n)
                .map(|i| {
                    ((i as f64 * 7.0 / n as f64).floor() * 0.375 - 1.0) as f32 as f64
                        + nudge * i as f64
                })
                .collect();
            let mut xs: Vec<f32> = probed(&table).flat_map(|q| neighbours(q as f32)).collect();
            xs.extend([
                f32::NAN,
                -1e30,
                1e30,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                -0.0,
            ]);
            for dist in [Distribution::Uniform, Distribution::Normal] {
                let d = differences(dist, false, &table, n, &xs, None);
                check(&format!("forward {dist:?} n={n}"), &d, &xs, tolerance(dist));
            }
            // Inputs a hair off the entries in float64 (x = v (1 ± 2^-30), between two float32
            // values): a float32 table must be compared with x rounded the right way.
            for a in [1.0 + 2f64.powi(-30), 1.0 - 2f64.powi(-30)] {
                let d = differences(Distribution::Uniform, false, &table, n, &xs, Some(a));
                check(&format!("forward uniform n={n}, x × {a}"), &d, &xs, 0.0);
            }
            // Strictly increasing tables take the one-search forward path (the strict bound
            // derived from the upper one): inputs on, between and around every entry. Uneven
            // references make the two interpolations round differently, so an input equal to an
            // entry must find its exact segment on both sides.
            let distinct: Vec<f64> = (0..n)
                .map(|i| ((i as f64).powf(1.3) * 0.25 - 1.0) as f32 as f64 + nudge * i as f64)
                .collect();
            let mut ds: Vec<f32> = probed(&distinct)
                .flat_map(|q| neighbours(q as f32))
                .collect();
            ds.extend([f32::NAN, -1e30, 1e30, f32::INFINITY, f32::NEG_INFINITY]);
            let uneven: Vec<f64> = (0..n)
                .map(|i| (i as f64 / (n - 1) as f64).powi(3))
                .collect();
            for dist in [Distribution::Uniform, Distribution::Normal] {
                let d = differences_on(dist, false, &distinct, &uneven, &ds, None);
                let what = format!("forward {dist:?} strictly increasing n={n}");
                check(&what, &d, &ds, tolerance(dist));
            }
            // And with scikit-learn's references (computed, so the block search runs too).
            let d = differences(Distribution::Uniform, false, &distinct, n, &ds, None);
            let what = format!("forward uniform strictly increasing n={n}, linspace references");
            check(&what, &d, &ds, 0.0);
            // Inverse: inputs at and around the references k / (n - 1) (uniform) and their normal
            // quantiles, where the closed-form search must agree with the table's comparisons.
            let mut us: Vec<f32> = (0..n)
                .filter(|&k| probe(n, k))
                .flat_map(|k| neighbours((k as f64 / (n - 1) as f64) as f32))
                .collect();
            us.extend([f32::NAN, -1e-30, 1.0 + 1e-7, 2.0, -3.0, 1e30, f32::INFINITY]);
            let d = differences(Distribution::Uniform, true, &table, n, &us, None);
            check(&format!("inverse uniform n={n}"), &d, &us, 0.0);
            // Exactly the references: k · (1 / (n - 1)) is how numpy computes them, and x (n - 1)
            // may then round below k (n = 8: 5 · (1/7) · 7 = 4.999…), the case the closed-form
            // search's third candidate is for. (numpy's interpolation is continuous there: on
            // these tables the neighbouring segment gives the same bits, so the output cannot
            // tell the two counts apart; the count's correctness rests on the argument in
            // `linspace_bound`.)
            let ks: Vec<f32> = (0..n).filter(|&k| probe(n, k)).map(|k| k as f32).collect();
            let step = 1.0 / (n - 1) as f64;
            let irregular: Vec<f64> = (0..n)
                .map(|i| (i as f64).powf(1.37) * 0.1 + (i as f64 * 0.7).sin() * 1e-3)
                .collect();
            let d = differences(Distribution::Uniform, true, &irregular, n, &ks, Some(step));
            check(
                &format!("inverse uniform at the references n={n}"),
                &d,
                &ks,
                0.0,
            );
            let zs: Vec<f32> = (0..n)
                .filter(|&k| probe(n, k))
                .flat_map(|k| {
                    let p = (k as f64 / (n - 1) as f64).clamp(1e-6, 1.0 - 1e-6);
                    neighbours(lamarrc_ir::special::normal_ppf(p) as f32)
                })
                .chain([f32::NAN, -40.0, 40.0, 0.0])
                .collect();
            let d = differences(Distribution::Normal, true, &table, n, &zs, None);
            // ndtr's last-bit differences are multiplied by the table's slope (up to ~400 here):
            // 1e-12, still far below one step of the table (0.375).
            check(
                &format!("inverse normal n={n}"),
                &d,
                &zs,
                (1e-12 * 2f64.powi(40)) as f32,
            );
        }
    }
}

/// Every QuantileTransformer configuration compiles to object code for every x86-64 level
/// (code generation only, so every level is checked whatever this CPU): both distributions
/// and directions, float32-exact and float64 tables, with and without plateaus, column counts
/// that fill vectors or leave spare lanes, table sizes with and without the block search, inside
/// a ColumnTransformer's gathers and concatenation. An LLVM pass that aborts would end the test
/// process (see also tests/pipelines.rs, every estimator at every level).
#[test]
fn every_quantile_configuration_compiles_for_every_level() {
    let mut functions = Vec::new();
    for n in [300usize, 1000] {
        let references = lamarrc_ir::special::linspace01(n);
        for dist in [Distribution::Uniform, Distribution::Normal] {
            for inverse in [false, true] {
                for f32_exact in [false, true] {
                    for tied in [false, true] {
                        for cols in [1usize, 3, 5, 9] {
                            let table = |c: usize| -> Vec<f64> {
                                (0..n)
                                    .map(|i| {
                                        let i = if tied && c % 2 == 0 { i / 7 * 7 } else { i };
                                        let v = (i as f64 * 0.37 + c as f64).exp().ln_1p() / 3.1;
                                        if f32_exact {
                                            v as f32 as f64
                                        } else {
                                            v
                                        }
                                    })
                                    .collect()
                            };
                            let mut f = Function::new(format!(
                                "q_{n}_{dist:?}_{inverse}_{f32_exact}_{tied}_{cols}"
                            ));
                            // As a ColumnTransformer lowers: the quantile columns and a scaled
                            // remainder gathered from one input, concatenated again.
                            let p = f.param("in", cols + 4, Origin::default());
                            let all = f
                                .add(Op::Cast { to: DType::F64 }, &[p], Origin::default())
                                .unwrap();
                            let gather = |f: &mut Function, r: std::ops::Range<usize>| {
                                let op = Op::Gather {
                                    indices: r.collect(),
                                };
                                f.add(op, &[all], Origin::default()).unwrap()
                            };
                            let x = gather(&mut f, 0..cols);
                            let rest = gather(&mut f, cols..cols + 4);
                            let scaled = f
                                .add(
                                    Op::Standardize {
                                        mean: vec![1.5; 4],
                                        scale: vec![2.5; 4],
                                    },
                                    &[rest],
                                    Origin::default(),
                                )
                                .unwrap();
                            let q = Op::Quantile {
                                distribution: dist,
                                inverse,
                                references: references.clone(),
                                columns: (0..cols)
                                    .map(|c| QuantileColumn {
                                        quantiles: table(c),
                                    })
                                    .collect(),
                                linspace: false,
                            };
                            let v = f.add(q, &[x], Origin::default()).unwrap();
                            let v = f.add(Op::Concat, &[v, scaled], Origin::default()).unwrap();
                            let v = f
                                .add(Op::Cast { to: DType::F32 }, &[v], Origin::default())
                                .unwrap();
                            f.result = Some(v);
                            functions.push(f);
                        }
                    }
                }
            }
        }
    }
    let mut m = Module { functions };
    lamarrc::driver::optimise(&mut m, lamarrc_passes::DEFAULT_PIPELINE, |_, _, _| {}).unwrap();
    for cpu in ["x86-64-v2", "x86-64-v3", "x86-64-v4"] {
        let ctx = inkwell::context::Context::create();
        let opts = lamarrc::codegen::Options {
            target: lamarrc::codegen::TargetSpec::new(cpu),
            ..Default::default()
        };
        let built = lamarrc::codegen::build(&ctx, &m, &opts).unwrap();
        assert!(!built.object().unwrap().is_empty(), "{cpu}");
    }
}
