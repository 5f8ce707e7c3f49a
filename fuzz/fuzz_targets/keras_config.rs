//! Arbitrary bytes as the `config.json` of a `.keras` archive, read into a layer graph and
//! lowered to verified IR, with the real weights of one of a few fixture models (the first byte
//! picks which, so that configs that match their weights are reachable). Errors are fine;
//! panics, hangs, unbounded memory and invalid IR are findings.
#![no_main]

use lamarrc::driver::{self, Model, ModelSource};
use lamarrc::front::keras::{archive::Archive, Network};
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

const MODELS: &[&[u8]] = &[
    include_bytes!("../../tests/fixtures/keras/dense_relu/model.keras"),
    include_bytes!("../../tests/fixtures/keras/residual/model.keras"),
    include_bytes!("../../tests/fixtures/keras/generator_two_inputs/model.keras"),
    include_bytes!("../../tests/fixtures/keras/nested_functional/model.keras"),
    include_bytes!("../../tests/fixtures/keras/batchnorm/model.keras"),
    include_bytes!("../../tests/fixtures/keras/merge_layers/model.keras"),
    include_bytes!("../../tests/fixtures/keras/prelu/model.keras"),
    include_bytes!("../../tests/fixtures/keras/nested_sequential/model.keras"),
];

fn weights() -> &'static Vec<Vec<u8>> {
    static W: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    W.get_or_init(|| {
        MODELS
            .iter()
            .map(|m| {
                let mut z = zip::ZipArchive::new(std::io::Cursor::new(*m)).unwrap();
                let mut e = z.by_name("model.weights.h5").unwrap();
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                b
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let Ok(config) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let path = PathBuf::from("fuzz/model.keras");
    let archive = Archive {
        path: path.clone(),
        config,
        metadata: None,
        weights_h5: weights()[pick as usize % MODELS.len()].clone(),
    };
    let Ok(network) = Network::from_archive(&archive) else {
        return;
    };
    let model = Model {
        source: ModelSource {
            name: "fuzz".into(),
            keras: Some(path),
            dir: None,
            tx: None,
            ty: None,
        },
        network: Some(network),
        tx: None,
        ty: None,
    };
    if let Err(lamarrc::Error::Verify(e)) = driver::build_module(&[model]) {
        panic!("accepted config gave invalid IR: {e}");
    }
});
