//! The `.keras` zip: its JSON members and the HDF5 weights member.

use super::KerasError;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Members of a `.keras` archive, read into memory.
pub struct Archive {
    pub path: PathBuf,
    pub config: serde_json::Value,
    pub metadata: Option<serde_json::Value>,
    pub weights_h5: Vec<u8>,
}

/// Refuse members larger than this: a 5M-parameter model is 20 MB; anything near this is not a
/// model we should compile, and an absurd size would otherwise exhaust memory.
const MAX_MEMBER: u64 = 4 << 30;

impl Archive {
    pub fn open(path: &Path) -> Result<Archive, KerasError> {
        let file = std::fs::File::open(path).map_err(|source| KerasError::Io {
            file: path.to_owned(),
            source,
        })?;
        let bad = |detail: String| KerasError::Archive {
            file: path.to_owned(),
            detail,
        };
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        let mut member = |name: &str| -> Result<Option<Vec<u8>>, KerasError> {
            let mut entry = match zip.by_name(name) {
                Ok(e) => e,
                Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                Err(e) => return Err(bad(format!("member `{name}`: {e}"))),
            };
            if entry.size() > MAX_MEMBER {
                return Err(bad(format!(
                    "member `{name}` claims {} bytes, more than the {} allowed",
                    entry.size(),
                    MAX_MEMBER
                )));
            }
            let mut buf = Vec::with_capacity(entry.size() as usize);
            entry
                .by_ref()
                .take(MAX_MEMBER)
                .read_to_end(&mut buf)
                .map_err(|e| bad(format!("member `{name}` is damaged: {e}")))?;
            Ok(Some(buf))
        };
        let config = member("config.json")?.ok_or_else(|| bad("no `config.json` member".into()))?;
        let metadata = member("metadata.json")?;
        let weights_h5 = member("model.weights.h5")?
            .ok_or_else(|| bad("no `model.weights.h5` member (saved without weights?)".into()))?;
        let config: serde_json::Value =
            serde_json::from_slice(&config).map_err(|e| KerasError::Config {
                file: path.to_owned(),
                detail: format!("not valid JSON: {e}"),
            })?;
        let metadata = metadata.and_then(|m| serde_json::from_slice(&m).ok());
        Ok(Archive {
            path: path.to_owned(),
            config,
            metadata,
            weights_h5,
        })
    }

    /// The Keras version that wrote the file, from metadata.json.
    pub fn keras_version(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("keras_version")?.as_str()
    }
}
