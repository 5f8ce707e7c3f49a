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
    /// CPU to generate code for: x86-64-v2, x86-64-v3 (default), x86-64-v4, native, or an LLVM CPU name.
    #[arg(long = "target-cpu")]
    pub target_cpu: Option<String>,
    /// LLVM optimisation level.
    #[arg(short = 'O', default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub opt_level: u8,
}

impl TargetArgs {
    fn options(&self) -> Options {
        Options {
            target: self
                .target_cpu
                .as_deref()
                .map(TargetSpec::new)
                .unwrap_or_default(),
            opt_level: self.opt_level,
        }
    }
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
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Show a model's layers, parameter counts and exported symbols.
    Inspect {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the tensor IR.
    Ir {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        name: Option<String>,
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
        #[arg(long)]
        input: PathBuf,
        /// Reference outputs (e.g. Keras + scikit-learn), same rows as the input.
        #[arg(long)]
        reference: PathBuf,
        #[arg(long)]
        noise: Option<PathBuf>,
        #[arg(long)]
        lib: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        /// Allowed error: |y - ref| <= atol + rtol |ref|. The defaults bound float32 round-off
        /// of the network as a tY inverse transform may amplify it; a network alone matches
        /// Keras within 1e-5 + 1e-4 |ref|.
        #[arg(long, default_value_t = 1e-4)]
        atol: f64,
        #[arg(long, default_value_t = 1e-3)]
        rtol: f64,
    },
    /// Evaluate a model on a file of rows (JIT, or a compiled library with --lib).
    Run {
        path: PathBuf,
        /// Input rows: .npy, .npz or .csv with a header.
        #[arg(long)]
        input: PathBuf,
        /// Noise rows for generators (.npy, .npz, .csv).
        #[arg(long)]
        noise: Option<PathBuf>,
        /// Output file: .npy or .csv.
        #[arg(short, long)]
        output: PathBuf,
        /// Use this compiled library instead of the JIT.
        #[arg(long)]
        lib: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
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
            target,
        } => compile(
            &paths,
            emit,
            output.as_deref(),
            name.as_deref(),
            &target.options(),
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
        Command::Ir { paths, name } => {
            let models = driver::load_models(&paths, name.as_deref())?;
            let m = driver::build_module(&models)?;
            print!("{}", lamarrc_ir::print::module(&m));
            Ok(())
        }
        Command::Run {
            path,
            input,
            noise,
            output,
            lib,
            name,
        } => run_model(
            &path,
            &input,
            noise.as_deref(),
            &output,
            lib.as_deref(),
            name.as_deref(),
        ),
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
            &target.options(),
        ),
        Command::Validate {
            path,
            input,
            reference,
            noise,
            lib,
            name,
            atol,
            rtol,
        } => {
            let x = read_matrix(&input)?;
            let r = noise.as_deref().map(read_matrix).transpose()?;
            let y = evaluate(
                &path,
                &x,
                &input,
                r.as_ref().zip(noise.as_deref()),
                lib.as_deref(),
                name.as_deref(),
            )?;
            let reference_m = read_matrix(&reference)?;
            let report = crate::validate::compare(&y, &reference_m, atol, rtol)
                .map_err(|m| Error::input(&reference, m))?;
            print!("{}", report.render());
            if report.failed() {
                return Err(Error::Usage(format!(
                    "{} of {} values exceed the tolerance (atol {atol}, rtol {rtol})",
                    report.total_exceeding(),
                    y.data.len()
                )));
            }
            println!(
                "ok: all {} values within |y - ref| <= {atol} + {rtol} |ref|",
                y.data.len()
            );
            Ok(())
        }
    }
}

fn compile(
    paths: &[PathBuf],
    emit: EmitArg,
    output: Option<&Path>,
    name: Option<&str>,
    opts: &Options,
) -> Result<()> {
    let models = driver::load_models(paths, name)?;
    let module = driver::build_module(&models)?;
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
    let ctx = inkwell::context::Context::create();
    let built = codegen::build(&ctx, &module, opts)?;
    match emit.emit() {
        Emit::So => {
            let obj = built.object()?;
            let tmp = TempOut::beside(&out).map_err(io(&out))?;
            codegen::link_shared(&obj, tmp.path())?;
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
        Emit::Obj => write_atomic(&out, &built.object()?).map_err(io(&out))?,
        Emit::Ll => write_atomic(&out, built.llvm_ir().as_bytes()).map_err(io(&out))?,
        Emit::Asm => write_atomic(&out, built.assembly()?.as_bytes()).map_err(io(&out))?,
        Emit::Bc => write_atomic(&out, &built.bitcode()).map_err(io(&out))?,
        Emit::H => unreachable!("handled above"),
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// Evaluates a model (JIT, or the function of the same name in `lib`) on rows of inputs.
pub fn evaluate(
    path: &Path,
    x: &Matrix,
    x_path: &Path,
    noise: Option<(&Matrix, &Path)>,
    lib: Option<&Path>,
    name: Option<&str>,
) -> Result<Matrix> {
    let eval = |entry: &lamarrc_runtime::Entry| -> Result<Matrix> {
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
        check(x, info.inputs[0], x_path, "the input")?;
        let mut inputs: Vec<&[f32]> = vec![&x.data];
        if info.inputs.len() > 1 {
            let Some((r, rp)) = noise else {
                return Err(Error::Usage(format!(
                    "`{}` is a generator: give its noise with --noise ({} columns)",
                    info.name, info.inputs[1]
                )));
            };
            check(r, info.inputs[1], rp, "the noise")?;
            inputs.push(&r.data);
        }
        let y = entry.call_batch(&inputs, x.rows)?;
        Ok(Matrix::new(x.rows, info.outputs, y))
    };
    match lib {
        Some(l) => {
            let library = lamarrc_runtime::Library::open(l)?;
            let wanted = match name {
                Some(n) => n.to_owned(),
                None => driver::resolve(path, None)?.name,
            };
            eval(library.entry(&wanted)?)
        }
        None => {
            let models = driver::load_models(&[path.to_owned()], name)?;
            let module = driver::build_module(&models)?;
            let jit = codegen::jit::Jit::new(&module, &Options::default())?;
            eval(jit.entry(&models[0].source.name)?)
        }
    }
}

fn read_matrix(p: &Path) -> Result<Matrix> {
    data::read(p).map_err(|m| Error::input(p, m))
}

fn run_model(
    path: &Path,
    input: &Path,
    noise: Option<&Path>,
    output: &Path,
    lib: Option<&Path>,
    name: Option<&str>,
) -> Result<()> {
    let x = read_matrix(input)?;
    let r = noise.map(read_matrix).transpose()?;
    let y = evaluate(path, &x, input, r.as_ref().zip(noise), lib, name)?;
    data::write(output, &y).map_err(|m| Error::input(output, m))?;
    eprintln!(
        "wrote {} ({} rows x {} outputs)",
        output.display(),
        y.rows,
        y.cols
    );
    Ok(())
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
            let module = driver::build_module(&models)?;
            let jit = codegen::jit::Jit::new(&module, opts)?;
            for e in jit.entries() {
                report(e, "JIT, host CPU");
            }
        }
    }
    Ok(())
}
