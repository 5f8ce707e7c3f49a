//! Sequential and Functional containers (nested to any depth) read into one [`Graph`] form:
//! layers, each with its calls (inbound nodes) naming the tensors they consume. A Sequential is
//! a chain of calls. Variables are found the way Keras' saving code names them: inside a
//! container, `layers/<snake_case(class)>` with `_1`, `_2`, … for repeated classes, in the
//! container's layer order (a Sequential does not count its InputLayer). Layer names are never
//! used for weights.

use super::archive::Archive;
use super::config::snake_case;
use super::layers::{self, LayerKind};
use super::weights::Weights;
use super::{KerasError, LayerError};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// A tensor produced by a layer call: `(layer name, call index, output index)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorRef {
    pub layer: String,
    pub node: usize,
    pub tensor: usize,
}

#[derive(Clone, Debug)]
pub struct Layer {
    /// Position in its container's config.
    pub index: usize,
    pub name: String,
    pub class: String,
    pub kind: LayerKind,
    /// HDF5 group of the layer's variables.
    pub weight_path: String,
    /// Number of scalars in its variables (nested models: all of theirs).
    pub params: usize,
    /// Inputs of each call of the layer.
    pub calls: Vec<Vec<TensorRef>>,
}

#[derive(Clone, Debug)]
pub struct Graph {
    pub class: String,
    pub name: String,
    pub layers: Vec<Layer>,
    pub inputs: Vec<TensorRef>,
    pub outputs: Vec<TensorRef>,
}

impl Graph {
    pub fn params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }

    /// Widths of the graph's inputs, from their InputLayers.
    pub fn input_widths(&self) -> Vec<usize> {
        self.inputs
            .iter()
            .map(|r| {
                self.layers
                    .iter()
                    .find(|l| l.name == r.layer)
                    .and_then(|l| match l.kind {
                        LayerKind::Input { len } => Some(len),
                        _ => None,
                    })
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// A whole `.keras` model.
#[derive(Clone, Debug)]
pub struct Network {
    pub file: PathBuf,
    pub keras_version: Option<String>,
    pub graph: Graph,
}

impl Network {
    pub fn from_archive(archive: &Archive) -> Result<Network, KerasError> {
        let weights = Weights::open(&archive.path, &archive.weights_h5)?;
        let reader = Reader {
            file: archive.path.clone(),
            weights: &weights,
        };
        let graph = reader.container(&archive.config, "", 0)?;
        Ok(Network {
            file: archive.path.clone(),
            keras_version: archive.keras_version().map(str::to_owned),
            graph,
        })
    }

    pub fn input_widths(&self) -> Vec<usize> {
        self.graph.input_widths()
    }

    pub fn params(&self) -> usize {
        self.graph.params()
    }
}

struct Reader<'a> {
    file: PathBuf,
    weights: &'a Weights,
}

/// Nesting deeper than this is refused (it guards the recursion on hostile configs).
const MAX_DEPTH: usize = 64;

fn tensor_ref(v: &Value) -> Option<TensorRef> {
    let a = v.as_array()?;
    match a.as_slice() {
        [name, node, tensor] => Some(TensorRef {
            layer: name.as_str()?.to_owned(),
            node: node.as_u64()? as usize,
            tensor: tensor.as_u64()? as usize,
        }),
        _ => None,
    }
}

/// `input_layers` / `output_layers`: one `[name, node, tensor]` or a list of them.
fn tensor_refs(v: Option<&Value>) -> Option<Vec<TensorRef>> {
    let v = v?;
    if let Some(r) = tensor_ref(v) {
        return Some(vec![r]);
    }
    v.as_array()?.iter().map(tensor_ref).collect()
}

/// Collects, in order, every `__keras_tensor__` in a call's args.
fn collect_keras_tensors(v: &Value, out: &mut Vec<TensorRef>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("inbound node nested too deeply".into());
    }
    match v {
        Value::Array(items) => {
            for i in items {
                collect_keras_tensors(i, out, depth + 1)?;
            }
        }
        Value::Object(o)
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let hist = v
                .pointer("/config/keras_history")
                .and_then(tensor_ref)
                .ok_or("a keras tensor without a valid keras_history")?;
            out.push(hist);
        }
        Value::Object(o) => {
            for i in o.values() {
                collect_keras_tensors(i, out, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Reader<'_> {
    fn config_err(&self, detail: impl Into<String>) -> KerasError {
        KerasError::Config {
            file: self.file.clone(),
            detail: detail.into(),
        }
    }

    /// Reads a Sequential or Functional container whose variables live under `prefix`.
    fn container(&self, v: &Value, prefix: &str, depth: usize) -> Result<Graph, KerasError> {
        if depth > MAX_DEPTH {
            return Err(self.config_err("models nested too deeply"));
        }
        let class = v
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| self.config_err("the model has no `class_name`"))?;
        let config = v
            .get("config")
            .ok_or_else(|| self.config_err(format!("`{class}` has no `config`")))?;
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(class)
            .to_owned();
        let layer_cfgs = config
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                self.config_err(format!(
                    "`{name}` ({class}) has no `layers` list; only Sequential and Functional models can be compiled"
                ))
            })?;
        let sequential = match class {
            "Sequential" => true,
            "Functional" | "Model" => false,
            other => {
                return Err(self.config_err(format!(
                    "model class `{other}` is not supported; supported: Sequential, Functional"
                )))
            }
        };

        let mut used: HashMap<String, usize> = HashMap::new();
        let mut layers = Vec::with_capacity(layer_cfgs.len());
        for (index, lc) in layer_cfgs.iter().enumerate() {
            let lclass = lc
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or_else(|| self.config_err(format!("layer #{index} has no `class_name`")))?
                .to_owned();
            let lconf = lc.get("config").unwrap_or(&Value::Null);
            let lname = lconf
                .get("name")
                .or_else(|| lc.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}_{index}", snake_case(&lclass)));
            let layer_err = |source: LayerError| KerasError::Layer {
                file: self.file.clone(),
                index,
                name: lname.clone(),
                class: lclass.clone(),
                source: Box::new(source),
            };
            // A Sequential's InputLayer is not one of its `layers`, so it takes no weight name.
            let skip_name = sequential && lclass == "InputLayer";
            let weight_path = if skip_name {
                String::new()
            } else {
                let base = snake_case(&lclass);
                let n = used.entry(base.clone()).or_insert(0);
                let name = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}_{n}")
                };
                *n += 1;
                if prefix.is_empty() {
                    format!("layers/{name}")
                } else {
                    format!("{prefix}/layers/{name}")
                }
            };
            let (kind, params) = if lclass == "Sequential" || lclass == "Functional" {
                let g = self.container(lc, &weight_path, depth + 1)?;
                let p = g.params();
                (LayerKind::Model(Box::new(g)), p)
            } else {
                let vars = if weight_path.is_empty() {
                    Vec::new()
                } else {
                    self.weights
                        .vars(&weight_path)
                        .map_err(|detail| KerasError::Weights {
                            file: self.file.clone(),
                            detail: format!("layer #{index} `{lname}` ({lclass}): {detail}"),
                        })?
                };
                let p = vars.iter().map(|t| t.len()).sum();
                (
                    layers::parse(&lclass, lconf, vars, &weight_path).map_err(layer_err)?,
                    p,
                )
            };
            let mut calls = Vec::new();
            if let Some(nodes) = lc.get("inbound_nodes").and_then(Value::as_array) {
                for node in nodes {
                    let mut refs = Vec::new();
                    collect_keras_tensors(node, &mut refs, 0)
                        .map_err(|m| layer_err(LayerError::Config(m)))?;
                    calls.push(refs);
                }
            }
            layers.push(Layer {
                index,
                name: lname,
                class: lclass,
                kind,
                weight_path,
                params,
                calls,
            });
        }

        if sequential {
            self.chain_sequential(name, config, layers)
        } else {
            let inputs = tensor_refs(config.get("input_layers")).ok_or_else(|| {
                self.config_err(format!("`{name}`: `input_layers` is missing or malformed"))
            })?;
            let outputs = tensor_refs(config.get("output_layers")).ok_or_else(|| {
                self.config_err(format!("`{name}`: `output_layers` is missing or malformed"))
            })?;
            Ok(Graph {
                class: class.to_owned(),
                name,
                layers,
                inputs,
                outputs,
            })
        }
    }

    /// Gives a Sequential the Functional form: an input layer and a chain of single calls.
    fn chain_sequential(
        &self,
        name: String,
        config: &Value,
        mut layers: Vec<Layer>,
    ) -> Result<Graph, KerasError> {
        let has_input = layers
            .first()
            .is_some_and(|l| matches!(l.kind, LayerKind::Input { .. }));
        if !has_input {
            // Built with model.build(shape) or from the first layer's build_config.
            let shape = config
                .get("build_input_shape")
                .or_else(|| {
                    config
                        .get("layers")?
                        .get(0)?
                        .pointer("/build_config/input_shape")
                })
                .ok_or_else(|| {
                    self.config_err(format!(
                        "Sequential `{name}` has no InputLayer and no build shape; build the model before saving"
                    ))
                })?;
            let len =
                layers::row_width(shape).map_err(|e| self.config_err(format!("`{name}`: {e}")))?;
            layers.insert(
                0,
                Layer {
                    index: 0,
                    name: format!("{name}_input"),
                    class: "InputLayer".into(),
                    kind: LayerKind::Input { len },
                    weight_path: String::new(),
                    params: 0,
                    calls: vec![],
                },
            );
        }
        let input = TensorRef {
            layer: layers[0].name.clone(),
            node: 0,
            tensor: 0,
        };
        let mut prev = input.clone();
        for l in layers.iter_mut().skip(1) {
            l.calls = vec![vec![prev.clone()]];
            prev = TensorRef {
                layer: l.name.clone(),
                node: 0,
                tensor: 0,
            };
        }
        Ok(Graph {
            class: "Sequential".into(),
            name,
            layers,
            inputs: vec![input],
            outputs: vec![prev],
        })
    }
}
