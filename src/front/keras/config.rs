//! Typed access to a layer's JSON config, with errors that name the missing or mistyped key.

use super::LayerError;
use serde_json::Value;

pub struct Cfg<'a>(pub &'a Value);

impl<'a> Cfg<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> Result<&'a str, LayerError> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| LayerError::Config(format!("`{key}` must be a string")))
    }

    pub fn str_or(&self, key: &str, default: &'a str) -> Result<&'a str, LayerError> {
        match self.get(key) {
            None => Ok(default),
            Some(_) => self.str(key),
        }
    }

    pub fn usize(&self, key: &str) -> Result<usize, LayerError> {
        self.get(key)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| LayerError::Config(format!("`{key}` must be a non-negative integer")))
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, LayerError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| LayerError::Config(format!("`{key}` must be a number"))),
        }
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, LayerError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| LayerError::Config(format!("`{key}` must be a number or null"))),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, LayerError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| LayerError::Config(format!("`{key}` must be true or false"))),
        }
    }

    /// An axis that must address the last (feature) axis of 1-D rows: -1 or 1.
    pub fn feature_axis(&self, key: &str, default: i64) -> Result<(), LayerError> {
        let axis = match self.get(key) {
            None => default,
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64().unwrap_or(0),
            Some(v) => v.as_i64().unwrap_or(0),
        };
        if axis == -1 || axis == 1 {
            Ok(())
        } else {
            Err(LayerError::Unsupported {
                what: format!("{key}={axis}"),
                supported: format!("{key}=-1 (the feature axis of 1-D rows)"),
            })
        }
    }
}

/// Keras' `naming.to_snake_case`, which names the weight groups: `PReLU` → `p_re_lu`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // Pass 1: `(.)([A-Z][a-z]+)` → `\1_\2`.
    let mut pass1: Vec<char> = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if i > 0
            && chars[i].is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|c| c.is_ascii_lowercase())
        {
            pass1.push('_');
        }
        pass1.push(chars[i]);
        i += 1;
    }
    // Pass 2: `([a-z])([A-Z])` → `\1_\2`, then lower-case.
    let mut out = String::with_capacity(pass1.len() + 8);
    for (j, c) in pass1.iter().enumerate() {
        if j > 0 && c.is_ascii_uppercase() && pass1[j - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_matches_keras() {
        assert_eq!(snake_case("Dense"), "dense");
        assert_eq!(snake_case("PReLU"), "p_re_lu");
        assert_eq!(snake_case("BatchNormalization"), "batch_normalization");
        assert_eq!(snake_case("ReLU"), "re_lu");
        assert_eq!(snake_case("LeakyReLU"), "leaky_re_lu");
        assert_eq!(snake_case("ELU"), "elu");
        assert_eq!(snake_case("InputLayer"), "input_layer");
        assert_eq!(snake_case("Sequential"), "sequential");
    }
}
