//! From what the user names on the command line to an IR module: model paths are resolved to
//! model directories, each directory becomes one exported function named after it.

use crate::error::{Error, Result};
use crate::front::keras::{self, Network};
use lamarrc_ir::{Function, Module, Origin, ValueId};
use std::path::{Path, PathBuf};

/// The files of one model: a `.keras` network (with, in a model directory, optional `tX.pkl`
/// preprocessing and `tY.pkl` postprocessing).
#[derive(Clone, Debug)]
pub struct ModelSource {
    pub name: String,
    pub keras: PathBuf,
    pub dir: Option<PathBuf>,
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

/// Resolves a `.keras` file or a model directory holding `model.keras`.
pub fn resolve(path: &Path, name: Option<&str>) -> Result<ModelSource> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let (keras, dir) = if meta.is_dir() {
        let k = path.join("model.keras");
        if !k.is_file() {
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
        (k, Some(path.to_owned()))
    } else {
        (path.to_owned(), None)
    };
    let derived = match &dir {
        Some(d) => file_name(d),
        None => {
            let stem = keras.file_stem().map(|s| s.to_string_lossy().into_owned());
            // `some/dir/model.keras` is named after its directory, like a model directory.
            if stem.as_deref() == Some("model") {
                keras.parent().and_then(file_name).or(stem)
            } else {
                stem
            }
        }
    }
    .unwrap_or_else(|| "model".into());
    let name = match name {
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
    Ok(ModelSource { name, keras, dir })
}

/// A loaded model.
pub struct Model {
    pub source: ModelSource,
    pub network: Network,
}

impl Model {
    pub fn load(source: ModelSource) -> Result<Model> {
        let network = keras::load(&source.keras)?;
        Ok(Model { source, network })
    }

    /// Emits the network into `f` on the given inputs; returns its single output.
    pub fn emit_network(&self, f: &mut Function, inputs: &[ValueId]) -> Result<ValueId> {
        let outs = self
            .network
            .graph
            .emit(f, inputs, &self.source.keras, None)?;
        match outs.as_slice() {
            [o] => Ok(*o),
            _ => Err(Error::input(
                &self.source.keras,
                format!(
                    "the model has {} outputs; lamarrc compiles models with exactly one output (concatenate them in Keras)",
                    outs.len()
                ),
            )),
        }
    }

    /// The exported functions of this model.
    pub fn functions(&self) -> Result<Vec<Function>> {
        let mut f = Function::new(&self.source.name);
        let widths = self.network.input_widths();
        let names = crate::codegen::header::param_names(widths.len());
        let file = self
            .source
            .keras
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let params: Vec<ValueId> = widths
            .iter()
            .zip(&names)
            .map(|(&w, n)| {
                f.param(
                    n.clone(),
                    w,
                    Origin::new(file.clone(), format!("input `{n}`")),
                )
            })
            .collect();
        let out = self.emit_network(&mut f, &params)?;
        f.result = Some(out);
        Ok(vec![f])
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
                    model.source.keras.display()
                )));
            }
            m.functions.push(f);
        }
    }
    lamarrc_ir::verify::verify(&m)?;
    Ok(m)
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
