//! Lowers a [`Graph`] into IR nodes of a function, resolving each layer call once its input
//! tensors exist (so shared layers and any topological order in the config work).

use super::graph::{Graph, Layer, TensorRef};
use super::layers::{Activation, LayerKind, Merge};
use super::{KerasError, LayerError};
use lamarrc_ir::{BinaryOp, Function, Op, Origin, UnaryOp, ValueId};
use std::collections::HashMap;
use std::path::Path;

/// Nested models are expanded at every call; past this many IR nodes the model is refused
/// (a thousand-layer network needs a few thousand).
pub const MAX_NODES: usize = 1_000_000;

/// One emitted layer call, for `inspect`: the layer and the value it produced.
pub struct Traced {
    pub path: String,
    pub class: String,
    pub output: ValueId,
}

struct Emitter<'a> {
    f: &'a mut Function,
    file: &'a Path,
    trace: Option<&'a mut Vec<Traced>>,
}

impl Graph {
    /// Emits the graph with `inputs` bound to its input layers; returns its outputs.
    pub fn emit(
        &self,
        f: &mut Function,
        inputs: &[ValueId],
        file: &Path,
        trace: Option<&mut Vec<Traced>>,
    ) -> Result<Vec<ValueId>, KerasError> {
        let mut e = Emitter { f, file, trace };
        e.graph(self, inputs, "")
    }
}

impl Emitter<'_> {
    fn layer_err(&self, l: &Layer, source: LayerError) -> KerasError {
        KerasError::Layer {
            file: self.file.to_owned(),
            index: l.index,
            name: l.name.clone(),
            class: l.class.clone(),
            source: Box::new(source),
        }
    }

    fn graph(
        &mut self,
        g: &Graph,
        inputs: &[ValueId],
        scope: &str,
    ) -> Result<Vec<ValueId>, KerasError> {
        let file = self.file.to_owned();
        let config_err = |detail: String| KerasError::Config {
            file: file.clone(),
            detail,
        };
        if inputs.len() != g.inputs.len() {
            return Err(config_err(format!(
                "`{}` takes {} inputs, given {}",
                g.name,
                g.inputs.len(),
                inputs.len()
            )));
        }
        let mut values: HashMap<TensorRef, ValueId> = HashMap::new();
        for (r, v) in g.inputs.iter().zip(inputs) {
            let layer = g.layers.iter().find(|l| l.name == r.layer);
            if let Some(
                l @ Layer {
                    kind: LayerKind::Input { len },
                    ..
                },
            ) = layer
            {
                let got = self.f.ty(*v).len;
                if got != *len {
                    return Err(self.layer_err(
                        l,
                        LayerError::Shape(format!("input has width {len}, given {got}")),
                    ));
                }
            }
            values.insert(r.clone(), *v);
        }
        // Pending calls, resolved in rounds: each round emits every call whose inputs exist.
        let mut pending: Vec<(usize, usize)> = g
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| !matches!(l.kind, LayerKind::Input { .. }))
            .flat_map(|(i, l)| (0..l.calls.len()).map(move |c| (i, c)))
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (li, ci) in pending {
                let l = &g.layers[li];
                let args: Option<Vec<ValueId>> =
                    l.calls[ci].iter().map(|r| values.get(r).copied()).collect();
                let Some(args) = args else {
                    still.push((li, ci));
                    continue;
                };
                let outs = self.layer(l, &args, scope)?;
                for (t, v) in outs.into_iter().enumerate() {
                    values.insert(
                        TensorRef {
                            layer: l.name.clone(),
                            node: ci,
                            tensor: t,
                        },
                        v,
                    );
                }
            }
            if still.len() == before {
                let (li, ci) = still[0];
                let l = &g.layers[li];
                let missing: Vec<String> = l.calls[ci]
                    .iter()
                    .filter(|r| !values.contains_key(r))
                    .map(|r| format!("{}[{}][{}]", r.layer, r.node, r.tensor))
                    .collect();
                return Err(self.layer_err(
                    l,
                    LayerError::Config(format!(
                        "consumes tensors that no layer produces: {}",
                        missing.join(", ")
                    )),
                ));
            }
            pending = still;
        }
        g.outputs
            .iter()
            .map(|r| {
                values.get(r).copied().ok_or_else(|| {
                    config_err(format!(
                        "`{}`: output {}[{}][{}] is never produced",
                        g.name, r.layer, r.node, r.tensor
                    ))
                })
            })
            .collect()
    }

    fn layer(
        &mut self,
        l: &Layer,
        args: &[ValueId],
        scope: &str,
    ) -> Result<Vec<ValueId>, KerasError> {
        let path = if scope.is_empty() {
            l.name.clone()
        } else {
            format!("{scope}/{}", l.name)
        };
        let origin = Origin::new(
            self.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format!("layer {path} ({})", l.class),
        );
        if self.f.nodes.len() > MAX_NODES {
            return Err(self.layer_err(
                l,
                LayerError::Unsupported {
                    what: format!("model size (more than {MAX_NODES} operations once nested models are expanded)"),
                    supported: "models whose nested models are not called exponentially often"
                        .into(),
                },
            ));
        }
        let outs = match &l.kind {
            LayerKind::Model(g) => self.graph(g, args, &path)?,
            kind => vec![self
                .simple(kind, args, origin)
                .map_err(|e| self.layer_err(l, e))?],
        };
        if let Some(t) = self.trace.as_deref_mut() {
            for &o in &outs {
                t.push(Traced {
                    path: path.clone(),
                    class: l.class.clone(),
                    output: o,
                });
            }
        }
        Ok(outs)
    }

    fn add(&mut self, op: Op, args: &[ValueId], origin: &Origin) -> Result<ValueId, LayerError> {
        self.f
            .add(op, args, origin.clone())
            .map_err(|e| LayerError::Shape(e.0))
    }

    fn activation(
        &mut self,
        a: &Activation,
        x: ValueId,
        origin: &Origin,
    ) -> Result<ValueId, LayerError> {
        match a {
            Activation::Unary(u) if u.is_identity() => Ok(x),
            Activation::Unary(u) => self.add(Op::Unary(u.clone()), &[x], origin),
            Activation::Softmax => self.add(Op::Softmax, &[x], origin),
            Activation::LogSoftmax => self.add(Op::LogSoftmax, &[x], origin),
        }
    }

    fn simple(
        &mut self,
        kind: &LayerKind,
        args: &[ValueId],
        origin: Origin,
    ) -> Result<ValueId, LayerError> {
        let one = || match args {
            [x] => Ok(*x),
            _ => Err(LayerError::Shape(format!(
                "takes 1 input, given {}",
                args.len()
            ))),
        };
        match kind {
            LayerKind::Input { .. } | LayerKind::Model(_) => unreachable!("handled by the caller"),
            LayerKind::Dense {
                units,
                kernel,
                bias,
                activation,
            } => {
                let x = one()?;
                let width = self.f.ty(x).len;
                if kernel.shape[0] != width {
                    return Err(LayerError::WeightShape {
                        path: "kernel (vars/0)".into(),
                        expected: vec![width, *units],
                        found: kernel.shape.clone(),
                    });
                }
                let (fused, rest) = match activation {
                    Activation::Unary(u) => (u.clone(), None),
                    other => (UnaryOp::Identity, Some(other)),
                };
                let y = self.add(
                    Op::Dense {
                        units: *units,
                        kernel: kernel.data.clone(),
                        bias: bias.as_ref().map(|b| b.data.clone()),
                        activation: fused,
                    },
                    &[x],
                    &origin,
                )?;
                match rest {
                    Some(a) => self.activation(a, y, &origin),
                    None => Ok(y),
                }
            }
            LayerKind::Activation(a) => self.activation(a, one()?, &origin),
            LayerKind::PRelu { alpha } => {
                let x = one()?;
                let width = self.f.ty(x).len;
                let alpha = match alpha.len() {
                    n if n == width => alpha.data.clone(),
                    1 => vec![alpha.data[0]; width],
                    n => {
                        return Err(LayerError::WeightShape {
                            path: "alpha (vars/0)".into(),
                            expected: vec![width],
                            found: vec![n],
                        })
                    }
                };
                self.add(Op::PRelu { alpha }, &[x], &origin)
            }
            LayerKind::BatchNorm { scale, shift } => self.add(
                Op::Affine {
                    scale: scale.clone(),
                    shift: shift.clone(),
                },
                &[one()?],
                &origin,
            ),
            LayerKind::Identity => one(),
            LayerKind::Reshape { target } => {
                let x = one()?;
                let width = self.f.ty(x).len;
                if target[0] != width {
                    return Err(LayerError::Shape(format!(
                        "cannot reshape {width} values to {target:?}"
                    )));
                }
                Ok(x)
            }
            LayerKind::Merge(m) => self.merge(*m, args, &origin),
        }
    }

    fn merge(
        &mut self,
        m: Merge,
        args: &[ValueId],
        origin: &Origin,
    ) -> Result<ValueId, LayerError> {
        if args.len() < 2 && m != Merge::Concatenate {
            return Err(LayerError::Shape(format!(
                "needs at least 2 inputs, given {}",
                args.len()
            )));
        }
        let fold = |e: &mut Self, op: BinaryOp| -> Result<ValueId, LayerError> {
            let mut acc = args[0];
            for &a in &args[1..] {
                acc = e.add(Op::Binary(op), &[acc, a], origin)?;
            }
            Ok(acc)
        };
        match m {
            Merge::Add => fold(self, BinaryOp::Add),
            Merge::Multiply => fold(self, BinaryOp::Mul),
            Merge::Maximum => fold(self, BinaryOp::Max),
            Merge::Minimum => fold(self, BinaryOp::Min),
            Merge::Subtract => {
                if args.len() != 2 {
                    return Err(LayerError::Shape(format!(
                        "Subtract takes exactly 2 inputs, given {}",
                        args.len()
                    )));
                }
                self.add(Op::Binary(BinaryOp::Sub), args, origin)
            }
            Merge::Average => {
                let sum = fold(self, BinaryOp::Add)?;
                let width = self.f.ty(sum).len;
                let k = 1.0 / args.len() as f64;
                self.add(
                    Op::Affine {
                        scale: vec![k; width],
                        shift: vec![0.0; width],
                    },
                    &[sum],
                    origin,
                )
            }
            Merge::Concatenate => self.add(Op::Concat, args, origin),
        }
    }
}
