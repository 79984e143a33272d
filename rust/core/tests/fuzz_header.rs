//! Mutated headers of the real files: every input gives a value or an error,
//! never a panic, a hang or an out-of-bounds read.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::OnceLock;

use brainbrr_core::edf::Edf;
use proptest::prelude::*;

/// The first part of each real file (header and a few records), small enough to mutate quickly.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        common::real_edf_files()
            .iter()
            .map(|p| {
                std::fs::read(p)
                    .expect("readable")
                    .into_iter()
                    .take(64 * 1024)
                    .collect()
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite bytes at an offset inside the header.
    Bytes(usize, Vec<u8>),
    /// Overwrite a header field with a chosen number-like string.
    Field(usize, String),
    /// Cut the file.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..4096, prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(o, b)| Mutation::Bytes(o, b)),
        (
            prop::sample::select(vec![
                184usize,
                236,
                244,
                252,
                256 + 216,
                256 + 224,
                256 + 232
            ]),
            prop::sample::select(vec![
                "-1",
                "0",
                "+1e3",
                "1e308",
                "-99999999",
                "NaN",
                "inf",
                " 2.5",
                "",
                "99999999"
            ]),
        )
            .prop_map(|(o, s)| Mutation::Field(o, s.to_owned())),
        (0usize..70_000).prop_map(Mutation::Truncate),
    ]
}

fn apply(mut data: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Bytes(o, b) => {
            for (i, x) in b.iter().enumerate() {
                if let Some(d) = data.get_mut(o + i) {
                    *d = *x;
                }
            }
        }
        Mutation::Field(o, s) => {
            for i in 0..8 {
                if let Some(d) = data.get_mut(o + i) {
                    *d = *s.as_bytes().get(i).unwrap_or(&b' ');
                }
            }
        }
        Mutation::Truncate(n) => data.truncate(*n),
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn mutated_headers_never_panic(seed in 0usize..64, mutations in prop::collection::vec(mutation(), 1..4)) {
        let seeds = seeds();
        let mut data = seeds[seed % seeds.len()].clone();
        for m in &mutations {
            data = apply(data, m);
        }
        let mut file = tempfile();
        file.1.write_all(&data).expect("write");
        if let Ok(edf) = Edf::open(&file.0) {
            for i in 0..edf.n_signals() {
                let _ = edf.read_physical::<f32>(i);
                let _ = edf.read_digital(i);
            }
            let _ = (edf.annotations(), edf.record_onsets());
        }
        let _ = std::fs::remove_file(&file.0);
    }
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "brainbrr-fuzz-{}-{}.edf",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&path).expect("create temp file");
    (path, file)
}
