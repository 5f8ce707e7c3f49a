//! `lamarrc inspect`: what a model directory contains and what the library will export.

use crate::driver::Model;
use crate::error::Result;
use crate::front::keras::layers::Activation;
use crate::front::keras::{Graph, LayerKind};
use lamarrc_ir::{Function, Origin};
use std::fmt::Write;

fn activation_of(kind: &LayerKind) -> String {
    match kind {
        LayerKind::Dense { activation, .. } | LayerKind::Activation(activation) => match activation
        {
            Activation::Unary(u) if u.is_identity() => "linear".into(),
            a => a.describe(),
        },
        _ => String::new(),
    }
}

fn units_of(kind: &LayerKind) -> String {
    match kind {
        LayerKind::Dense { units, .. } => units.to_string(),
        _ => String::new(),
    }
}

fn layers(
    g: &Graph,
    depth: usize,
    widths: &std::collections::HashMap<String, usize>,
    out: &mut String,
    scope: &str,
) {
    for l in &g.layers {
        let path = if scope.is_empty() {
            l.name.clone()
        } else {
            format!("{scope}/{}", l.name)
        };
        let width = match &l.kind {
            LayerKind::Input { len } => len.to_string(),
            _ => widths
                .get(&path)
                .map(|w| w.to_string())
                .unwrap_or_else(|| "-".into()),
        };
        let _ = writeln!(
            out,
            "  {:<28} {:<20} {:>6} {:>7}  {:<12} {:>9}",
            format!("{}{}", "  ".repeat(depth), l.name),
            l.class,
            units_of(&l.kind),
            width,
            activation_of(&l.kind),
            l.params
        );
        if let LayerKind::Model(inner) = &l.kind {
            layers(inner, depth + 1, widths, out, &path);
        }
    }
}

fn steps(s: &mut String, title: &str, t: &crate::front::sklearn::Transform) {
    let _ = writeln!(
        s,
        "\n{title}: {} ({} -> {} features{})",
        t.file().display(),
        t.n_features_in(),
        t.n_features_out(),
        if t.has_inverse() { ", invertible" } else { "" }
    );
    for line in t.describe() {
        let _ = writeln!(s, "  {line}");
    }
}

fn network(s: &mut String, model: &Model, net: &crate::front::keras::Network) -> Result<()> {
    let file = model
        .source
        .keras
        .as_deref()
        .unwrap_or(std::path::Path::new("model.keras"));
    let _ = writeln!(
        s,
        "\nnetwork: {} ({}{})",
        file.display(),
        net.graph.class,
        net.keras_version
            .as_deref()
            .map(|v| format!(", Keras {v}"))
            .unwrap_or_default()
    );
    // Emit once to learn every layer's output width.
    let mut f = Function::new("inspect");
    let params: Vec<_> = net
        .input_widths()
        .iter()
        .enumerate()
        .map(|(i, &w)| f.param(format!("p{i}"), w, Origin::default()))
        .collect();
    let mut trace = Vec::new();
    net.graph.emit(&mut f, &params, file, Some(&mut trace))?;
    let widths = trace
        .iter()
        .map(|t| (t.path.clone(), f.ty(t.output).len))
        .collect();
    let _ = writeln!(
        s,
        "  {:<28} {:<20} {:>6} {:>7}  {:<12} {:>9}",
        "layer", "class", "units", "output", "activation", "params"
    );
    layers(&net.graph, 0, &widths, s, "");
    let _ = writeln!(s, "  total parameters: {}", net.params());
    Ok(())
}

/// Renders the description of one model: its scikit-learn steps, its layers, its symbols.
pub fn render(model: &Model) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(s, "model `{}`", model.source.name);
    if let Some(d) = &model.source.dir {
        let _ = writeln!(s, "  directory {}", d.display());
    }
    if let Some(t) = &model.tx {
        steps(
            &mut s,
            if model.network.is_none() && model.source.dir.is_none() {
                "transform"
            } else {
                "preprocessing (tX)"
            },
            t,
        );
    }
    if let Some(net) = &model.network {
        network(&mut s, model, net)?;
    }
    if let Some(t) = &model.ty {
        steps(&mut s, "postprocessing (tY, applied inverted)", t);
    }
    let _ = writeln!(s, "\nexported symbols:");
    for func in model.functions()? {
        let names = crate::codegen::header::param_names(func.params.len());
        let args: Vec<String> = names
            .iter()
            .zip(&func.params)
            .map(|(n, p)| format!("const float* {n} /* {} */", p.len))
            .collect();
        let outs = func.result_type().map_or(0, |t| t.len);
        let _ = writeln!(
            s,
            "  float* {}(float* out /* {outs} */, {});",
            func.name,
            args.join(", ")
        );
        let _ = writeln!(
            s,
            "  float* {}_batch(float* out, {}, size_t n_rows);",
            func.name,
            args.join(", ")
        );
    }
    Ok(s)
}
