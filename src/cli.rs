//! The command line: `compile`, `inspect`, `ir`, `run`.

use crate::codegen::{self, Emit, Options, TargetSpec};
use crate::data::{self, Matrix};
use crate::driver;
use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, TempOut};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "lamarrc",
    version,
    about = "Compile Keras networks and their scikit-learn pre/post-processing into native code with C entry points"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    /// Shared library (plus its C header beside it).
    So,
    /// Relocatable object file.
    Obj,
    /// LLVM IR text.
    Ll,
    /// Assembly.
    Asm,
    /// LLVM bitcode.
    Bc,
    /// C header only.
    H,
}

impl EmitArg {
    fn emit(self) -> Emit {
        match self {
            EmitArg::So => Emit::So,
            EmitArg::Obj => Emit::Obj,
            EmitArg::Ll => Emit::Ll,
            EmitArg::Asm => Emit::Asm,
            EmitArg::Bc => Emit::Bc,
            EmitArg::H => Emit::H,
        }
    }

    fn default_file(self, name: &str) -> String {
        match self {
            EmitArg::So => format!("lib{name}.so"),
            EmitArg::Obj => format!("{name}.o"),
            EmitArg::Ll => format!("{name}.ll"),
            EmitArg::Asm => format!("{name}.s"),
            EmitArg::Bc => format!("{name}.bc"),
            EmitArg::H => format!("{name}.h"),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// CPU to generate code for: x86-64-v2, x86-64-v3, x86-64-v4, native, or an LLVM CPU name;
    /// a comma-separated list of levels builds each, picked at load time. Default:
    /// x86-64-v3,x86-64-v4 (the v3 baseline, AVX-512 code where the CPU has it).
    #[arg(long = "target-cpu")]
    pub target_cpu: Option<String>,
    /// LLVM optimisation level.
    #[arg(short = 'O', default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt_level: u8,
    /// An LLVM pass pipeline (`opt -passes=` syntax, e.g. `default<O3>`) instead of lamarrc's own.
    #[arg(long = "llvm-passes", value_name = "PIPELINE")]
    pub llvm_passes: Option<String>,
}

impl TargetArgs {
    /// `--target-cpu a,b,c` asks for one variant per x86-64 level, picked at load time; a CPU
    /// named alone gets code for that CPU only. Without the option: [`DEFAULT_LEVELS`].
    fn options(&self) -> Result<Options> {
        let cpus: Vec<&str> = match self.target_cpu.as_deref() {
            Some(c) => c.split(',').map(str::trim).collect(),
            None if cfg!(target_arch = "x86_64") => DEFAULT_LEVELS.to_vec(),
            None => Vec::new(),
        };
        if cpus.len() <= 1 {
            return Ok(Options {
                target: cpus.first().map(|c| TargetSpec::new(c)).unwrap_or_default(),
                variants: Vec::new(),
                opt_level: self.opt_level,
                llvm_passes: self.llvm_passes.clone(),
            });
        }
        if let Some(bad) = cpus.iter().find(|c| codegen::target::level(c).is_none()) {
            return Err(Error::Usage(format!(
                "--target-cpu: `{bad}` cannot be selected at load time; multiversioning takes x86-64-v2, x86-64-v3 and x86-64-v4"
            )));
        }
        let mut variants: Vec<TargetSpec> = cpus.iter().map(|c| TargetSpec::new(c)).collect();
        variants.sort_by_key(|t| codegen::target::level(&t.cpu));
        variants.dedup();
        Ok(Options {
            target: variants[0].clone(),
            variants,
            opt_level: self.opt_level,
            llvm_passes: self.llvm_passes.clone(),
        })
    }
}

/// The default x86-64 build: the portable x86-64-v3 baseline (AVX2 + FMA), which every
/// exported function falls back to, and an x86-64-v4 (AVX-512) variant picked at load time
/// where the CPU has it. AVX-512's 32 registers take a 128-wide layer's row in one pass over
/// its weights and larger batch tiles; on CPUs with full-width AVX-512 units (Zen 5, Intel
/// server cores) a batch gets twice the FMA throughput. The library stays within 1.2× the raw
/// weights for the tracking models (the Dense kernels are shared, the weights stored once).
pub const DEFAULT_LEVELS: [&str; 2] = ["x86-64-v3", "x86-64-v4"];

/// Where rows come from and which compiled code evaluates them.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Input rows: .npy, .npz, .csv (with a header) or .feather (Arrow IPC).
    #[arg(long)]
    pub input: PathBuf,
    /// Input columns by name (CSV, Feather), in this order; default: all, in the file's order.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Noise rows for generators; without it, noise is drawn from N(0, 1) with --seed.
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Seed of the normal noise drawn for generators when --noise is not given.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use this compiled library instead of the JIT.
    #[arg(long)]
    pub lib: Option<PathBuf>,
    /// Function to evaluate (default: the model's name).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile model directories (or .keras files) into one library.
    Compile {
        /// Model directories (model.keras [+ tX.pkl] [+ tY.pkl]) or .keras files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// What to produce.
        #[arg(long, value_enum, default_value = "so")]
        emit: EmitArg,
        /// Output file (default: lib<name>.so, <name>.o, …).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Name of the exported function (single model; default: the directory or file name).
        #[arg(long)]
        name: Option<String>,
        /// Print the IR after every optimisation pass (to stderr).
        #[arg(long)]
        print_after_all: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Show a model's layers, parameter counts and exported symbols.
    Inspect {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the tensor IR: as the frontends build it, or after an optimisation pass.
    Ir {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        /// Run the default pipeline up to and including this pass (or `all`), then print.
        /// Passes: fold-constants, fuse-residual, unroll-quantile, dce.
        #[arg(long)]
        after: Option<String>,
    },
    /// Time the compiled code: per-row latency and batched throughput.
    Bench {
        path: PathBuf,
        /// Use this compiled library instead of the JIT.
        #[arg(long)]
        lib: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        /// Batch sizes for NAME_batch.
        #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
        batch: Vec<usize>,
        /// Milliseconds of measurement per figure.
        #[arg(long, default_value_t = 700)]
        budget_ms: u64,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Compare a compiled model with reference outputs; exits non-zero beyond the tolerance.
    Validate {
        path: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Reference outputs (e.g. Keras + scikit-learn), same rows as the input.
        #[arg(long)]
        reference: PathBuf,
        /// Write a self-contained HTML report with the distributions and error histograms.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Allowed error: |y - ref| <= atol + rtol |ref|. The defaults bound float32 round-off
        /// of the network as a tY inverse transform may amplify it; a network alone matches
        /// Keras within 1e-5 + 1e-4 |ref|. A chain's values beyond it pass (and are counted)
        /// when they agree within that network bound before the tY inverse.
        #[arg(long, default_value_t = 1e-4)]
        atol: f64,
        #[arg(long, default_value_t = 1e-3)]
        rtol: f64,
    },
    /// Evaluate a model on a file of rows (JIT, or a compiled library with --lib).
    Run {
        path: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Output file: .npy, .csv or .feather.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            paths,
            emit,
            output,
            name,
            print_after_all,
            target,
        } => compile(
            &paths,
            emit,
            output.as_deref(),
            name.as_deref(),
            print_after_all,
            &target.options()?,
        ),
        Command::Inspect { paths } => {
            for (i, m) in driver::load_models(&paths, None)?.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", crate::inspect::render(m)?);
            }
            Ok(())
        }
        Command::Ir { paths, name, after } => {
            let models = driver::load_models(&paths, name.as_deref())?;
            let mut m = driver::build_module(&models)?;
            if let Some(last) = after {
                let pipeline = lamarrc_passes::DEFAULT_PIPELINE;
                let upto = if last == "all" {
                    pipeline.len()
                } else {
                    1 + pipeline.iter().position(|p| *p == last).ok_or_else(|| {
                        Error::Usage(format!(
                            "--after: no pass `{last}`; passes: {}, all",
                            pipeline.join(", ")
                        ))
                    })?
                };
                driver::optimise(&mut m, &pipeline[..upto], |_, _, _| {})?;
            }
            print!("{}", lamarrc_ir::print::module(&m));
            Ok(())
        }
        Command::Bench {
            path,
            lib,
            name,
            batch,
            budget_ms,
            target,
        } => bench(
            &path,
            lib.as_deref(),
            name.as_deref(),
            &batch,
            budget_ms,
            &target.options()?,
        ),
        Command::Run { path, data, output } => {
            let y = evaluate(&path, &data, NoiseSource::Drawn)?.y;
            data::write(&output, &y).map_err(|m| Error::input(&output, m))?;
            eprintln!(
                "wrote {} ({} rows x {} outputs)",
                output.display(),
                y.rows,
                y.cols
            );
            Ok(())
        }
        Command::Validate {
            path,
            data,
            reference,
            report,
            atol,
            rtol,
        } => {
            let run = evaluate(&path, &data, NoiseSource::Required)?;
            let y = &run.y;
            let reference_m = read_matrix(&reference, None)?;
            let summary = crate::validate::compare(y, &reference_m, atol, rtol)
                .map_err(|m| Error::input(&reference, m))?;
            print!("{}", summary.render());
            if let Some(r) = &report {
                let names: Vec<String> = if reference_m.names.len() == reference_m.cols {
                    reference_m.names.clone()
                } else {
                    vec![String::new(); y.cols]
                };
                let compiled: Vec<Vec<f32>> = (0..y.cols)
                    .map(|j| (0..y.rows).map(|i| y.data[i * y.cols + j]).collect())
                    .collect();
                let refs: Vec<Vec<f32>> = (0..y.cols)
                    .map(|j| {
                        (0..y.rows)
                            .map(|i| reference_m.data[i * y.cols + j])
                            .collect()
                    })
                    .collect();
                let columns: Vec<crate::report::Column> = (0..y.cols)
                    .map(|j| crate::report::Column {
                        name: names[j].clone(),
                        compiled: &compiled[j],
                        reference: &refs[j],
                    })
                    .collect();
                let info = crate::report::ReportInfo {
                    model: path.display().to_string(),
                    engine: run.engine_name.clone(),
                    atol,
                    rtol,
                    rows: y.rows,
                    inputs: data.input.display().to_string(),
                };
                write_atomic(r, crate::report::render_html(&info, &columns).as_bytes())
                    .map_err(|e| Error::input(r, format!("cannot write: {e}")))?;
                println!("report: {}", r.display());
            }
            let exceeding = summary.total_exceeding();
            let explained = if exceeding > 0 {
                before_ty(&run, &reference_m)?.map_or(0, |(zy, zr)| {
                    crate::validate::agree_before_ty(y, &reference_m, &zy, &zr, atol, rtol)
                })
            } else {
                0
            };
            if exceeding > explained {
                return Err(Error::Usage(format!(
                    "{} of {} values exceed the tolerance (atol {atol}, rtol {rtol}){}",
                    exceeding - explained,
                    y.data.len(),
                    if explained > 0 {
                        format!("; {explained} more agree before the tY inverse")
                    } else {
                        String::new()
                    }
                )));
            }
            if explained > 0 {
                println!(
                    "ok: all {} values within |y - ref| <= {atol} + {rtol} |ref| but {explained}, \
                     which agree before the tY inverse (|tY(y) - tY(ref)| <= {} + {} |tY(ref)|: \
                     the network's float32 round-off, amplified where tY's inverse is steep)",
                    y.data.len(),
                    crate::validate::NETWORK_ATOL,
                    crate::validate::NETWORK_RTOL
                );
            } else {
                println!(
                    "ok: all {} values within |y - ref| <= {atol} + {rtol} |ref|",
                    y.data.len()
                );
            }
            Ok(())
        }
    }
}

fn compile(
    paths: &[PathBuf],
    emit: EmitArg,
    output: Option<&Path>,
    name: Option<&str>,
    print_after_all: bool,
    opts: &Options,
) -> Result<()> {
    let models = driver::load_models(paths, name)?;
    let mut module = driver::build_module(&models)?;
    if print_after_all {
        eprintln!(
            "; IR before optimisation\n{}",
            lamarrc_ir::print::module(&module)
        );
    }
    driver::optimise(
        &mut module,
        lamarrc_passes::DEFAULT_PIPELINE,
        |pass, changed, m| {
            if print_after_all {
                if changed {
                    eprintln!("; IR after {pass}\n{}", lamarrc_ir::print::module(m));
                } else {
                    eprintln!("; {pass}: unchanged\n");
                }
            }
        },
    )?;
    let lib_name = if models.len() == 1 {
        models[0].source.name.clone()
    } else {
        "lamarrc".into()
    };
    let out = output
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(emit.default_file(&lib_name)));
    let header_name = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| lib_name.clone());
    let io = |path: &Path| {
        let p = path.to_owned();
        move |e: std::io::Error| Error::input(p, format!("cannot write: {e}"))
    };
    if emit == EmitArg::H {
        write_atomic(
            &out,
            codegen::header::render(&module, &header_name).as_bytes(),
        )
        .map_err(io(&out))?;
        println!("wrote {}", out.display());
        return Ok(());
    }
    if emit == EmitArg::So {
        let objects = codegen::objects_parallel(&module, opts)?;
        let tmp = TempOut::beside(&out).map_err(io(&out))?;
        codegen::link_shared_objects(&objects, tmp.path())?;
        tmp.commit(&out).map_err(io(&out))?;
        let h = out.with_extension("h");
        write_atomic(
            &h,
            codegen::header::render(&module, &header_name).as_bytes(),
        )
        .map_err(io(&h))?;
        println!("wrote {} and {}", out.display(), h.display());
        return Ok(());
    }
    let ctx = inkwell::context::Context::create();
    let built = codegen::build(&ctx, &module, opts)?;
    match emit.emit() {
        Emit::Obj => write_atomic(&out, &built.object()?).map_err(io(&out))?,
        Emit::Ll => write_atomic(&out, built.llvm_ir().as_bytes()).map_err(io(&out))?,
        Emit::Asm => write_atomic(&out, built.assembly()?.as_bytes()).map_err(io(&out))?,
        Emit::Bc => write_atomic(&out, &built.bitcode()).map_err(io(&out))?,
        Emit::So | Emit::H => unreachable!("handled above"),
    }
    println!("wrote {}", out.display());
    Ok(())
}

fn read_matrix(p: &Path, columns: Option<&[String]>) -> Result<Matrix> {
    data::read_columns(p, columns).map_err(|m| Error::input(p, m))
}

/// Compiled code to evaluate: a JIT or a loaded library (kept alive with its entry).
enum Engine {
    Jit(codegen::jit::Jit),
    Library(lamarrc_runtime::Library),
}

impl Engine {
    fn open(path: &Path, data: &DataArgs) -> Result<(Engine, String, String)> {
        match &data.lib {
            Some(l) => {
                let name = match &data.name {
                    Some(n) => n.clone(),
                    None => driver::resolve(path, None)?.name,
                };
                Ok((
                    Engine::Library(lamarrc_runtime::Library::open(l)?),
                    name,
                    l.display().to_string(),
                ))
            }
            None => {
                let models = driver::load_models(&[path.to_owned()], data.name.as_deref())?;
                let module = driver::compile_module(&models)?;
                let name = models[0].source.name.clone();
                Ok((
                    Engine::Jit(codegen::jit::Jit::new(&module, &Options::default())?),
                    name,
                    "JIT (host CPU)".into(),
                ))
            }
        }
    }

    fn entry(&self, name: &str) -> Result<&lamarrc_runtime::Entry> {
        Ok(match self {
            Engine::Jit(j) => j.entry(name)?,
            Engine::Library(l) => l.entry(name)?,
        })
    }
}

/// tY applied to the evaluated outputs and to the reference, when the model has a tY step (its
/// `NAME_tY`, from the engine that evaluated it), for [`crate::validate::agree_before_ty`].
fn before_ty(run: &Evaluation, reference: &Matrix) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let y = &run.y;
    let Ok(ty) = run.engine.entry(&format!("{}_tY", run.name)) else {
        return Ok(None);
    };
    if ty.info.inputs != [y.cols] || ty.info.outputs != y.cols {
        return Ok(None);
    }
    Ok(Some((
        ty.call_batch(&[&y.data], y.rows)?,
        ty.call_batch(&[&reference.data], reference.rows)?,
    )))
}

/// Where a generator's noise comes from when `--noise` is not given.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NoiseSource {
    /// Drawn from N(0, 1) with `--seed` (`run`).
    Drawn,
    /// Refused: a reference was made with some noise, which must be given (`validate`).
    Required,
}

/// Standard normal noise from a seeded SplitMix64 stream through Box–Muller: reproducible
/// across machines for a given seed (a dependency for two formulas is not worth it).
pub fn normal_noise(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed ^ 0x6C61_6D61_7272_6321;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        // A uniform in (0, 1], never 0, so the logarithm stays finite.
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + 0.5 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u, v) = (next(), next());
        let r = (-2.0 * u.ln()).sqrt();
        let t = std::f64::consts::TAU * v;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// Rows per batched call in `run`: large enough to amortise, small enough to show progress.
const CHUNK_ROWS: usize = 16384;

/// What [`evaluate`] ran and produced.
pub struct Evaluation {
    pub y: Matrix,
    engine: Engine,
    /// The function evaluated.
    name: String,
    /// The JIT or the library's path, for messages and reports.
    pub engine_name: String,
}

/// Evaluates a model on the input rows in chunks.
pub fn evaluate(path: &Path, data: &DataArgs, noise_source: NoiseSource) -> Result<Evaluation> {
    let x = read_matrix(&data.input, data.columns.as_deref())?;
    let (engine, name, engine_name) = Engine::open(path, data)?;
    let entry = engine.entry(&name)?;
    let info = &entry.info;
    let check = |m: &Matrix, w: usize, p: &Path, what: &str| -> Result<()> {
        if m.cols != w {
            return Err(Error::input(
                p,
                format!("{what} has {} columns, `{}` expects {w}", m.cols, info.name),
            ));
        }
        if m.rows != x.rows {
            return Err(Error::input(
                p,
                format!("{what} has {} rows, the input {}", m.rows, x.rows),
            ));
        }
        Ok(())
    };
    check(&x, info.inputs[0], &data.input, "the input")?;
    if info.inputs.len() > 2 {
        return Err(Error::Usage(format!(
            "`{}` takes {} inputs; `run` feeds at most an input and a noise",
            info.name,
            info.inputs.len()
        )));
    }
    let noise = match (&data.noise, info.inputs.get(1)) {
        (Some(p), Some(&w)) => {
            let r = read_matrix(p, None)?;
            check(&r, w, p, "the noise")?;
            Some(r.data)
        }
        (None, Some(_)) if noise_source == NoiseSource::Required => {
            return Err(Error::Usage(
                "validating a generator needs the noise its reference was made with: give --noise"
                    .into(),
            ))
        }
        (None, Some(&w)) => {
            eprintln!(
                "`{}` is a generator: drawing its noise from N(0, 1) with seed {}",
                info.name, data.seed
            );
            Some(normal_noise(x.rows * w, data.seed))
        }
        (Some(p), None) => return Err(Error::input(p, format!("`{}` takes no noise", info.name))),
        (None, None) => None,
    };
    let bar = indicatif::ProgressBar::new(x.rows as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = std::time::Instant::now();
    let mut y = Vec::with_capacity(x.rows * info.outputs);
    let mut at = 0;
    while at < x.rows {
        let n = CHUNK_ROWS.min(x.rows - at);
        let mut inputs: Vec<&[f32]> = vec![&x.data[at * info.inputs[0]..(at + n) * info.inputs[0]]];
        if let (Some(r), Some(&w)) = (&noise, info.inputs.get(1)) {
            inputs.push(&r[at * w..(at + n) * w]);
        }
        y.extend(entry.call_batch(&inputs, n)?);
        at += n;
        bar.set_position(at as u64);
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{}: {} rows in {:.3} s ({:.0} rows/s, {engine_name})",
        info.name,
        x.rows,
        secs,
        x.rows as f64 / secs.max(1e-9)
    );
    let y = Matrix::new(x.rows, info.outputs, y);
    Ok(Evaluation {
        y,
        engine,
        name,
        engine_name,
    })
}

fn bench(
    path: &Path,
    lib: Option<&Path>,
    name: Option<&str>,
    batches: &[usize],
    budget_ms: u64,
    opts: &Options,
) -> Result<()> {
    let report = |entry: &lamarrc_runtime::Entry, engine: &str| {
        let rows = 4096;
        let inputs: Vec<Vec<f32>> = entry
            .info
            .inputs
            .iter()
            .enumerate()
            .map(|(k, &w)| crate::bench::synthetic_rows(rows * w, 7 + k as u64))
            .collect();
        println!(
            "{} ({engine}): inputs {:?} -> {} outputs",
            entry.info.name, entry.info.inputs, entry.info.outputs
        );
        for t in crate::bench::run(entry, &inputs, rows, batches, budget_ms) {
            println!("  {:<32} {:>10.3} us/row", t.what, t.ns_per_row / 1e3);
        }
    };
    match lib {
        Some(l) => {
            let library = lamarrc_runtime::Library::open(l)?;
            match name {
                Some(n) => report(library.entry(n)?, &l.display().to_string()),
                None => {
                    for e in library.entries() {
                        report(e, &l.display().to_string());
                    }
                }
            }
        }
        None => {
            let models = driver::load_models(&[path.to_owned()], name)?;
            let module = driver::compile_module(&models)?;
            let jit = codegen::jit::Jit::new(&module, opts)?;
            for e in jit.entries() {
                report(e, "JIT, host CPU");
            }
        }
    }
    Ok(())
}
