//! From what the user names on the command line to an IR module: model paths are resolved to
//! model directories, each directory becomes one exported function named after it.

use crate::error::{Error, Result};
use crate::front::keras::{self, Network};
use crate::front::sklearn::{self, Transform};
use lamarrc_ir::{DType, Function, Module, Op, Origin, ValueId};
use std::path::{Path, PathBuf};

/// The files of one model: a `.keras` network (with, in a model directory, optional `tX.pkl`
/// preprocessing and `tY.pkl` postprocessing).
#[derive(Clone, Debug)]
pub struct ModelSource {
    pub name: String,
    /// The network; a directory may hold only pre/post-processing, a path may be a pickle.
    pub keras: Option<PathBuf>,
    pub dir: Option<PathBuf>,
    pub tx: Option<PathBuf>,
    pub ty: Option<PathBuf>,
}

/// `tX.pkl` (or `.joblib`) in a model directory.
fn step_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["pkl", "joblib", "pickle"]
        .iter()
        .map(|e| dir.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

/// A C identifier made from a file or directory name: `my-model.v2` → `my_model_v2`.
pub fn c_name(s: &str) -> String {
    let mut n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, '_');
    }
    n
}

fn file_name(p: &Path) -> Option<String> {
    std::fs::canonicalize(p)
        .ok()
        .as_deref()
        .unwrap_or(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

fn is_pickle(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("pkl" | "pickle" | "joblib")
    )
}

/// Resolves a model directory (`model.keras` and/or `tX.pkl`, `tY.pkl`), a `.keras` file, or a
/// scikit-learn pickle (`.pkl`, `.joblib`), which compiles to its transform and inverse.
pub fn resolve(path: &Path, name: Option<&str>) -> Result<ModelSource> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let (mut src, derived) = if meta.is_dir() {
        let k = path.join("model.keras");
        let src = ModelSource {
            name: String::new(),
            keras: k.is_file().then_some(k),
            dir: Some(path.to_owned()),
            tx: step_file(path, "tX"),
            ty: step_file(path, "tY"),
        };
        if src.keras.is_none() && src.tx.is_none() && src.ty.is_none() {
            let entries: Vec<String> = std::fs::read_dir(path)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            return Err(Error::input(
                path,
                format!(
                    "not a model directory: expected `model.keras` (with optional tX.pkl and tY.pkl), found {}",
                    if entries.is_empty() { "an empty directory".to_string() } else { entries.join(", ") }
                ),
            ));
        }
        (src, file_name(path))
    } else if is_pickle(path) {
        let src = ModelSource {
            name: String::new(),
            keras: None,
            dir: None,
            tx: Some(path.to_owned()),
            ty: None,
        };
        (
            src,
            path.file_stem().map(|s| s.to_string_lossy().into_owned()),
        )
    } else {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        // `some/dir/model.keras` is named after its directory, like a model directory.
        let derived = if stem.as_deref() == Some("model") {
            path.parent().and_then(file_name).or(stem)
        } else {
            stem
        };
        let src = ModelSource {
            name: String::new(),
            keras: Some(path.to_owned()),
            dir: None,
            tx: None,
            ty: None,
        };
        (src, derived)
    };
    let derived = derived.unwrap_or_else(|| "model".into());
    src.name = match name {
        Some(n) => {
            if !lamarrc_ir::verify::is_c_identifier(n) {
                return Err(Error::Usage(format!(
                    "--name `{n}` is not a valid C identifier"
                )));
            }
            n.to_owned()
        }
        None => c_name(&derived),
    };
    Ok(src)
}

/// A loaded model: the network and its optional pre/post-processing.
pub struct Model {
    pub source: ModelSource,
    pub network: Option<Network>,
    pub tx: Option<Transform>,
    pub ty: Option<Transform>,
}

fn file_label(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Model {
    pub fn load(source: ModelSource) -> Result<Model> {
        let network = source.keras.as_deref().map(keras::load).transpose()?;
        let tx = source.tx.as_deref().map(sklearn::load).transpose()?;
        let ty = source.ty.as_deref().map(sklearn::load).transpose()?;
        let m = Model {
            source,
            network,
            tx,
            ty,
        };
        m.check_widths()?;
        Ok(m)
    }

    /// A pickle compiled on its own: `NAME` is its transform, `NAME_inverse` its inverse.
    fn is_lone_pickle(&self) -> bool {
        self.network.is_none() && self.source.dir.is_none()
    }

    fn keras_path(&self) -> &Path {
        self.source
            .keras
            .as_deref()
            .unwrap_or(Path::new("model.keras"))
    }

    /// Widths of the network's inputs (without a network: the data flowing from tX to tY).
    fn network_inputs(&self) -> Vec<usize> {
        match &self.network {
            Some(n) => n.input_widths(),
            None => vec![self
                .tx
                .as_ref()
                .map(Transform::n_features_out)
                .or_else(|| self.ty.as_ref().map(Transform::n_features_out))
                .unwrap_or(0)],
        }
    }

    /// Feature counts must agree across the steps.
    fn check_widths(&self) -> Result<()> {
        let what = match &self.source.keras {
            Some(k) => format!("the network ({})", k.display()),
            None => "the postprocessing".into(),
        };
        if let Some(tx) = &self.tx {
            let want = self.network_inputs()[0];
            if self.network.is_some() || self.ty.is_some() {
                let want = if self.network.is_some() {
                    want
                } else {
                    self.ty.as_ref().map_or(want, Transform::n_features_out)
                };
                if tx.n_features_out() != want {
                    return Err(Error::input(
                        tx.file(),
                        format!(
                            "the preprocessing produces {} features, but {what} takes {want}",
                            tx.n_features_out()
                        ),
                    ));
                }
            }
        }
        if let Some(ty) = &self.ty {
            if let Some(n) = &self.network {
                let out = self.network_output_width(n)?;
                if ty.n_features_out() != out {
                    return Err(Error::input(
                        ty.file(),
                        format!(
                            "the postprocessing was fitted on {} features, but the network ({}) outputs {out}",
                            ty.n_features_out(),
                            self.keras_path().display()
                        ),
                    ));
                }
            }
            if !ty.has_inverse() {
                return Err(Error::input(
                    ty.file(),
                    "the postprocessing has no inverse_transform, which the model's output needs",
                ));
            }
        }
        Ok(())
    }

    fn network_output_width(&self, n: &Network) -> Result<usize> {
        let mut f = Function::new("probe");
        let params: Vec<ValueId> = n
            .input_widths()
            .iter()
            .map(|&w| f.param("p", w, Origin::default()))
            .collect();
        let out = self.emit_network(&mut f, &params)?;
        Ok(f.ty(out).len)
    }

    /// Emits the network into `f` on the given inputs (without a network: the input itself).
    pub fn emit_network(&self, f: &mut Function, inputs: &[ValueId]) -> Result<ValueId> {
        let Some(n) = &self.network else {
            return Ok(inputs[0]);
        };
        let outs = n.graph.emit(f, inputs, self.keras_path(), None)?;
        match outs.as_slice() {
            [o] => Ok(*o),
            _ => Err(Error::input(
                self.keras_path(),
                format!(
                    "the model has {} outputs; lamarrc compiles models with exactly one output (concatenate them in Keras)",
                    outs.len()
                ),
            )),
        }
    }

    fn origin(&self, file: &Path, what: &str) -> Origin {
        Origin::new(file_label(file), what)
    }

    /// Declares the network's inputs as parameters `in`, `noise`, … (the first one `width0` wide).
    fn params(&self, f: &mut Function, width0: usize) -> Vec<ValueId> {
        let widths = self.network_inputs();
        let names = crate::codegen::header::param_names(widths.len());
        widths
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(k, (&w, n))| {
                let w = if k == 0 { width0 } else { w };
                let o = self.origin(self.keras_path(), &format!("input `{n}`"));
                f.param(n.clone(), w, o)
            })
            .collect()
    }

    fn to_f32(&self, f: &mut Function, v: ValueId, file: &Path) -> Result<ValueId> {
        if f.ty(v).dtype == DType::F32 {
            return Ok(v);
        }
        f.add(
            Op::Cast { to: DType::F32 },
            &[v],
            self.origin(file, "output"),
        )
        .map_err(|e| Error::input(file, e.0))
    }

    /// The network alone, as `NAME` when there is no pre/post-processing.
    fn bare_network(&self) -> Result<Function> {
        let mut f = Function::new(&self.source.name);
        let width0 = self.network_inputs()[0];
        let params = self.params(&mut f, width0);
        let y = self.emit_network(&mut f, &params)?;
        f.result = Some(y);
        Ok(f)
    }

    fn call(
        &self,
        f: &mut Function,
        callee: &Function,
        args: &[ValueId],
        file: &Path,
    ) -> Result<ValueId> {
        let op = Op::Call {
            callee: callee.name.clone(),
            result_len: callee.result_type().map_or(0, |t| t.len),
        };
        f.add(op, args, self.origin(file, &format!("`{}`", callee.name)))
            .map_err(|e| Error::input(file, e.0))
    }

    /// The whole chain `NAME`: `tX` → network (the noise joins after `tX`) → `tY` inverse,
    /// composed of calls to the exported sub-steps, so that each is compiled once.
    fn chain(
        &self,
        tx: Option<&Function>,
        dnn: Option<&Function>,
        ty_inverse: Option<&Function>,
    ) -> Result<Function> {
        let mut f = Function::new(&self.source.name);
        let width0 = match &self.tx {
            Some(tx) => tx.n_features_in(),
            None => self.network_inputs()[0],
        };
        let params = self.params(&mut f, width0);
        let mut x = params[0];
        if let (Some(step), Some(t)) = (tx, &self.tx) {
            x = self.call(&mut f, step, &[x], t.file())?;
        }
        let mut y = x;
        if let Some(dnn) = dnn {
            let keras = self.keras_path().to_owned();
            let input = if params.len() > 1 {
                let mut parts = vec![x];
                parts.extend_from_slice(&params[1..]);
                f.add(Op::Concat, &parts, self.origin(&keras, "network inputs"))
                    .map_err(|e| Error::input(&keras, e.0))?
            } else {
                x
            };
            y = self.call(&mut f, dnn, &[input], &keras)?;
        }
        if let (Some(step), Some(t)) = (ty_inverse, &self.ty) {
            y = self.call(&mut f, step, &[y], t.file())?;
        }
        f.result = Some(y);
        Ok(f)
    }

    /// `NAME_dnn`: the network alone. A generator's inputs arrive concatenated in one buffer
    /// (`[features, noise]`), as the existing LHCb glue passes them (`NAME_dnn(buf, buf)`).
    fn dnn(&self) -> Result<Function> {
        let mut f = Function::new(format!("{}_dnn", self.source.name));
        let widths = self.network_inputs();
        let total: usize = widths.iter().sum();
        let origin = self.origin(
            self.keras_path(),
            "input `in` (all network inputs, concatenated)",
        );
        let all = f.param("in", total, origin.clone());
        let mut inputs = Vec::with_capacity(widths.len());
        let mut at = 0;
        for &w in &widths {
            if widths.len() == 1 {
                inputs.push(all);
            } else {
                let part = f
                    .add(
                        Op::Gather {
                            indices: (at..at + w).collect(),
                        },
                        &[all],
                        origin.clone(),
                    )
                    .map_err(|e| Error::input(self.keras_path(), e.0))?;
                inputs.push(part);
            }
            at += w;
        }
        let y = self.emit_network(&mut f, &inputs)?;
        f.result = Some(y);
        Ok(f)
    }

    /// `NAME_<suffix>`: one scikit-learn step alone, forward or inverse.
    fn step(&self, t: &Transform, symbol: String, inverse: bool) -> Result<Function> {
        let mut f = Function::new(symbol);
        let width = if inverse {
            t.n_features_out()
        } else {
            t.n_features_in()
        };
        let x = f.param("in", width, self.origin(t.file(), "input `in`"));
        let y = if inverse {
            t.emit_inverse(&mut f, x)?
        } else {
            t.emit_forward(&mut f, x)?
        };
        f.result = Some(self.to_f32(&mut f, y, t.file())?);
        Ok(f)
    }

    /// The exported functions: `NAME`, and with pre/post-processing the sub-steps the LHCb glue
    /// calls: `NAME_tX`, `NAME_tX_inverse`, `NAME_dnn`, `NAME_tY`, `NAME_tY_inverse` (those that
    /// exist), listed before `NAME`, which calls them. A lone pickle gives `NAME` and
    /// `NAME_inverse`.
    pub fn functions(&self) -> Result<Vec<Function>> {
        let name = &self.source.name;
        if self.is_lone_pickle() {
            let t = self.tx.as_ref().expect("a lone pickle is read as tX");
            let mut fs = vec![self.step(t, name.clone(), false)?];
            if t.has_inverse() {
                fs.push(self.step(t, format!("{name}_inverse"), true)?);
            }
            return Ok(fs);
        }
        if self.tx.is_none() && self.ty.is_none() {
            return Ok(vec![self.bare_network()?]);
        }
        let mut fs = Vec::new();
        let (mut tx, mut dnn, mut ty_inv) = (None, None, None);
        if let Some(t) = &self.tx {
            let step = self.step(t, format!("{name}_tX"), false)?;
            tx = Some(step.clone());
            fs.push(step);
            if t.has_inverse() {
                fs.push(self.step(t, format!("{name}_tX_inverse"), true)?);
            }
        }
        if self.network.is_some() {
            let d = self.dnn()?;
            dnn = Some(d.clone());
            fs.push(d);
        }
        if let Some(t) = &self.ty {
            fs.push(self.step(t, format!("{name}_tY"), false)?);
            let inv = self.step(t, format!("{name}_tY_inverse"), true)?;
            ty_inv = Some(inv.clone());
            fs.push(inv);
        }
        fs.push(self.chain(tx.as_ref(), dnn.as_ref(), ty_inv.as_ref())?);
        Ok(fs)
    }
}

/// Loads every model and builds one verified module. Names must be unique.
pub fn build_module(models: &[Model]) -> Result<Module> {
    let mut m = Module::default();
    for model in models {
        for f in model.functions()? {
            if let Some(prev) = m.function(&f.name) {
                return Err(Error::Usage(format!(
                    "two models export `{}`; rename a directory or use --name (first: {})",
                    prev.name,
                    model
                        .source
                        .dir
                        .as_ref()
                        .or(model.source.keras.as_ref())
                        .or(model.source.tx.as_ref())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )));
            }
            m.functions.push(f);
        }
    }
    lamarrc_ir::verify::verify(&m)?;
    Ok(m)
}

/// Runs the optimisation pipeline on `m`; `after` sees the module after each pass. Debug
/// builds (the tests) verify the module after every pass.
pub fn optimise(
    m: &mut Module,
    passes: &[&str],
    after: impl FnMut(&str, bool, &Module),
) -> Result<()> {
    lamarrc_passes::run_pipeline(m, passes, cfg!(debug_assertions), after)
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Loads, builds and optimises with the default pipeline: what `lamarrc compile` compiles.
pub fn compile_module(models: &[Model]) -> Result<Module> {
    let mut m = build_module(models)?;
    compile_module_in_place(&mut m)?;
    Ok(m)
}

/// The default pipeline on a built module.
pub fn compile_module_in_place(m: &mut Module) -> Result<()> {
    optimise(m, lamarrc_passes::DEFAULT_PIPELINE, |_, _, _| {})
}

/// Resolves and loads models from paths (`name` only for a single path).
pub fn load_models(paths: &[PathBuf], name: Option<&str>) -> Result<Vec<Model>> {
    if paths.is_empty() {
        return Err(Error::Usage("no model given".into()));
    }
    if name.is_some() && paths.len() > 1 {
        return Err(Error::Usage("--name applies to a single model".into()));
    }
    paths
        .iter()
        .map(|p| resolve(p, name).and_then(Model::load))
        .collect()
}
