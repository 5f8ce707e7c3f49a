//! The library description exported as the NUL-terminated text symbol `lamarrc_metadata`:
//!
//! ```text
//! lamarrc-metadata 1
//! function acceptance inputs 12 outputs 1
//! function resolution inputs 12,128 outputs 9
//! ```
//! Plain text, so that C++ code can read it too without a JSON library.

pub const METADATA_SYMBOL: &str = "lamarrc_metadata";
const HEADER: &str = "lamarrc-metadata 1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    /// Width of each input (the row input first, then e.g. the noise of a generator).
    pub inputs: Vec<usize>,
    pub outputs: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Metadata {
    pub functions: Vec<FunctionInfo>,
}

impl Metadata {
    pub fn from_functions(functions: Vec<FunctionInfo>) -> Self {
        Metadata { functions }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        for f in &self.functions {
            let ins: Vec<String> = f.inputs.iter().map(|n| n.to_string()).collect();
            s += &format!(
                "function {} inputs {} outputs {}\n",
                f.name,
                ins.join(","),
                f.outputs
            );
        }
        s
    }

    pub fn parse(text: &str) -> Result<Metadata, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("expected `{HEADER}` first"));
        }
        let mut functions = Vec::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                ["function", name, "inputs", ins, "outputs", outs] => {
                    let inputs = ins
                        .split(',')
                        .map(|n| n.parse::<usize>().map_err(|e| format!("`{line}`: {e}")))
                        .collect::<Result<Vec<_>, _>>()?;
                    let outputs = outs
                        .parse::<usize>()
                        .map_err(|e| format!("`{line}`: {e}"))?;
                    functions.push(FunctionInfo {
                        name: name.to_string(),
                        inputs,
                        outputs,
                    });
                }
                _ => return Err(format!("unexpected line `{line}`")),
            }
        }
        Ok(Metadata { functions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = Metadata::from_functions(vec![
            FunctionInfo {
                name: "a".into(),
                inputs: vec![12],
                outputs: 1,
            },
            FunctionInfo {
                name: "r".into(),
                inputs: vec![12, 128],
                outputs: 9,
            },
        ]);
        assert_eq!(Metadata::parse(&m.to_text()).unwrap(), m);
        assert!(Metadata::parse("nonsense").is_err());
    }
}
