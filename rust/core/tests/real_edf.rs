//! brainbrr-core against values read by pyedflib / edfio from the same real
//! files (fixtures/real_edf_expected.json, written by
//! `python -m tests.make_real_edf_expected`): no Python needed here.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use brainbrr_core::edf::Edf;
use serde_json::Value;

#[test]
fn real_files_match_independent_readers() {
    let expected: Value = serde_json::from_str(include_str!("fixtures/real_edf_expected.json"))
        .expect("fixture is JSON");
    let files = common::real_edf_files();
    assert_eq!(
        files.len(),
        expected.as_object().map_or(0, |o| o.len()),
        "fixture out of date"
    );
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let want = &expected[name];
        if let Some(message) = want["error"].as_str() {
            let err = Edf::open(&path).expect_err(name).to_string();
            assert!(err.contains(message) && err.contains(name), "{err}");
            continue;
        }
        let edf = Edf::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let signals = want["signals"].as_array().expect("signals");
        assert_eq!(edf.n_signals(), signals.len(), "{name}");
        for (i, w) in signals.iter().enumerate() {
            let s = edf.signal(i).expect("index");
            assert_eq!(s.label, w["label"].as_str().expect("label"), "{name}");
            let rate = edf.sample_rate(i).expect("index");
            assert!(
                (rate - w["rate"].as_f64().expect("rate")).abs() < 1e-9,
                "{name} {}",
                s.label
            );
            let x: Vec<f64> = edf.read_physical(i).expect("scalable");
            assert_eq!(
                x.len() as u64,
                w["n"].as_u64().expect("n"),
                "{name} {}",
                s.label
            );
            let half_step = 0.5
                * ((s.physical_max - s.physical_min) / (s.digital_max - s.digital_min)).abs()
                * (1.0 + 1e-9);
            let probes = w["probe_index"]
                .as_array()
                .expect("probes")
                .iter()
                .zip(w["probe_value"].as_array().expect("values"));
            for (j, v) in probes {
                let (j, v) = (
                    j.as_u64().expect("index") as usize,
                    v.as_f64().expect("value"),
                );
                assert!(
                    (x[j] - v).abs() <= half_step,
                    "{name} {} [{j}]: {} vs {v}",
                    s.label,
                    x[j]
                );
            }
            let sum: f64 = x.iter().sum();
            let want_sum = w["sum"].as_f64().expect("sum");
            assert!(
                (sum - want_sum).abs() <= half_step * x.len() as f64 + 1e-9 * want_sum.abs(),
                "{name} {} sum",
                s.label
            );
            let f32s: Vec<f32> = edf.read_physical(i).expect("scalable");
            assert!(
                f32s.iter()
                    .zip(&x)
                    .all(|(a, b)| (f64::from(*a) - b).abs() <= 1e-6 * b.abs() + 1e-30),
                "{name}"
            );
        }
    }
}

/// The ingest's path (raw bytes copied out in one pass, decoded later) gives
/// exactly what decoding straight from the file gives, on every real file.
#[test]
fn extracted_signals_decode_to_the_same_values() {
    use brainbrr_core::edf::RawSignals;
    let mut raw = RawSignals::default();
    for path in common::real_edf_files() {
        let Ok(edf) = Edf::open(&path) else { continue };
        let scalable: Vec<usize> = (0..edf.n_signals())
            .filter(|&i| edf.signal(i).is_ok_and(|s| s.scaling().is_some()))
            .collect();
        edf.extract_into(&scalable, &mut raw).unwrap();
        for (k, &i) in scalable.iter().enumerate() {
            let want: Vec<f64> = edf.read_physical(i).unwrap();
            let mut got = vec![f64::NAN; want.len()];
            assert!(raw.decode_into(k, &mut got), "{}", path.display());
            assert_eq!(got, want, "{} signal {i}", path.display());
            if let Some(shorter) = got.get_mut(1..) {
                assert!(
                    !raw.decode_into(k, shorter),
                    "a wrong length decodes nothing"
                );
            }
        }
    }
}
