//! brainbrr-core's DSP primitives against what `scipy.signal` computes
//! (fixtures/dsp_scipy.json, written by `python -m tests.make_dsp_expected`):
//! coefficients within 1e-10 of the largest one, filtered and resampled
//! signals within 1e-6 of the reference's RMS. The inputs are rebuilt here by
//! the generator's own rule ([`signal`]); each output is compared at its
//! probes, and by its sum and RMS, which an error anywhere would move.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::f64::consts::PI;
use std::sync::LazyLock;

use brainbrr_core::dsp::butter::{self, Band};
use brainbrr_core::dsp::filter::{self, Ba, Iir, Sos};
use brainbrr_core::dsp::{poly, resample};
use serde_json::Value;

static EXPECTED: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("fixtures/dsp_scipy.json")).expect("fixture is JSON")
});

/// `tests/make_dsp_expected.py`'s `signal`: a 64-bit LCG's top 53 bits as
/// uniform noise, and for `"eeg"` that noise low-passed plus two sines and DC.
fn signal(spec: &Value) -> Vec<f64> {
    let n = usize::try_from(spec["n"].as_u64().unwrap()).unwrap();
    let fs = spec["fs"].as_f64().unwrap();
    let mut state = spec["seed"].as_u64().unwrap();
    let white: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 3.4 - 1.7
        })
        .collect();
    if spec["kind"] == "white" {
        return white;
    }
    let mut acc = 0.0;
    white
        .iter()
        .enumerate()
        .map(|(k, w)| {
            acc = 0.95 * acc + w;
            let t = k as f64 / fs;
            10.0 * acc
                + 20.0 * (2.0 * PI * 10.0 * t).sin()
                + 5.0 * (2.0 * PI * 60.0 * t).sin()
                + 40.0
        })
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn rows(v: &Value) -> Vec<[f64; 6]> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| floats(r).try_into().expect("six coefficients"))
        .collect()
}

fn ba(v: &Value) -> Ba {
    Ba::new(&floats(&v[0]), &floats(&v[1])).unwrap()
}

fn sos(v: &Value) -> Sos {
    Sos::new(&rows(v)).unwrap()
}

fn usize_of(v: &Value) -> usize {
    usize::try_from(v.as_u64().expect("integer")).unwrap()
}

/// Coefficients within 1e-10 relative, and 1e-10 of the largest absolute one.
fn assert_coefs(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let atol = 1e-10 * want.iter().fold(0.0_f64, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + 1e-10 * w.abs(),
            "{what}[{i}]: {g} != {w}"
        );
    }
}

/// `got` against scipy's probed output: every probe within `1e-6 * scale`
/// (the reference's RMS unless given), and the sum and RMS likewise.
fn assert_close(got: &[f64], want: &Value, scale: Option<f64>, what: &str) {
    assert_eq!(got.len(), usize_of(&want["n"]), "{what}: length");
    let tol = 1e-6 * scale.unwrap_or_else(|| want["rms"].as_f64().unwrap());
    let index = want["probe_index"].as_array().unwrap();
    for (i, w) in index.iter().zip(floats(&want["probe_value"])) {
        let i = usize_of(i);
        assert!(
            (got[i] - w).abs() <= tol,
            "{what}: sample {i}: {} != {w} (tolerance {tol:.3e})",
            got[i]
        );
    }
    let n = got.len().max(1) as f64;
    let sum: f64 = got.iter().sum();
    let rms = (got.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    assert!(
        (sum - want["sum"].as_f64().unwrap()).abs() <= tol * n,
        "{what}: sum {sum} != {}",
        want["sum"]
    );
    assert!(
        (rms - want["rms"].as_f64().unwrap()).abs() <= tol,
        "{what}: rms {rms} != {}",
        want["rms"]
    );
}

fn filtered(f: &dyn Iir, x: &[f64], zero_phase: Option<Option<usize>>) -> Vec<f64> {
    let mut y = x.to_vec();
    match zero_phase {
        None => filter::lfilter(f, &mut y),
        Some(padlen) => filter::filtfilt(f, &mut y, padlen, &mut Vec::new()),
    }
    y
}

#[test]
fn butterworth_and_notch_coefficients() {
    let design = &EXPECTED["design"];
    for case in design["butter"].as_array().unwrap() {
        let cutoff = floats(&case["cutoff"]);
        let band = match (case["btype"].as_str().unwrap(), cutoff.as_slice()) {
            ("lowpass", &[f]) => Band::Lowpass(f),
            ("highpass", &[f]) => Band::Highpass(f),
            ("bandpass", &[lo, hi]) => Band::Bandpass(lo, hi),
            other => panic!("unexpected case {other:?}"),
        };
        let order = usize_of(&case["order"]);
        let fs = case["fs"].as_f64().unwrap();
        let what = format!("butter({order}, {cutoff:?}, {}, fs={fs})", case["btype"]);
        let zpk = butter::butter(order, band, fs).unwrap();
        let got = zpk.to_ba();
        assert_coefs(got.b(), &floats(&case["b"]), &format!("{what}: b"));
        assert_coefs(got.a(), &floats(&case["a"]), &format!("{what}: a"));
        let got: Vec<f64> = zpk.to_sos().unwrap().sections().concat();
        assert_coefs(&got, &rows(&case["sos"]).concat(), &format!("{what}: sos"));
    }
    for case in design["notch"].as_array().unwrap() {
        let [f0, q, fs] = ["f0", "q", "fs"].map(|k| case[k].as_f64().unwrap());
        let got = butter::iirnotch(f0, q, fs).unwrap();
        assert_coefs(
            got.b(),
            &floats(&case["b"]),
            &format!("iirnotch({f0}, {q}, {fs}): b"),
        );
        assert_coefs(
            got.a(),
            &floats(&case["a"]),
            &format!("iirnotch({f0}, {q}, {fs}): a"),
        );
    }
}

#[test]
fn initial_conditions() {
    let zi = &EXPECTED["design"]["zi"];
    let l = &zi["lfilter"];
    let got = Ba::new(&floats(&l["b"]), &floats(&l["a"]))
        .unwrap()
        .steady_state();
    for (g, w) in got.iter().zip(floats(&l["zi"])) {
        assert!((g - w).abs() <= 1e-7 * w.abs(), "lfilter_zi: {g} != {w}");
    }
    let s = &zi["sosfilt"];
    let got = sos(&s["sos"]).steady_state();
    assert_coefs(&got, &rows2(&s["zi"]), "sosfilt_zi");
}

/// `[n_sections, 2]` as one row-major vector.
fn rows2(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().flat_map(floats).collect()
}

#[test]
fn causal_filters() {
    for case in EXPECTED["causal"].as_array().unwrap() {
        let x = signal(&case["input"]);
        let what = format!("{}", case["input"]);
        let f = &case["filters"];
        assert_close(
            &filtered(&ba(&f["ba"]), &x, None),
            &case["ba"],
            None,
            &format!("lfilter {what}"),
        );
        if !f["sos"].is_null() {
            assert_close(
                &filtered(&sos(&f["sos"]), &x, None),
                &case["sos"],
                None,
                &format!("sosfilt {what}"),
            );
            assert_close(
                &filtered(&ba(&f["notch"]), &x, None),
                &case["notch"],
                None,
                &format!("notch {what}"),
            );
        }
    }
}

#[test]
fn zero_phase_filters_with_scipys_padding_or_less() {
    for case in EXPECTED["zero_phase"].as_array().unwrap() {
        let x = signal(&case["input"]);
        let padlen = case["padlen"].as_u64().map(|p| usize::try_from(p).unwrap());
        let scale = case["scale"].as_f64();
        let what = format!("{} padlen {padlen:?}", case["input"]);
        let f = &case["filters"];
        let zp = Some(padlen);
        assert_close(
            &filtered(&ba(&f["ba"]), &x, zp),
            &case["ba"],
            scale,
            &format!("filtfilt {what}"),
        );
        assert_close(
            &filtered(&sos(&f["sos"]), &x, zp),
            &case["sos"],
            scale,
            &format!("sosfiltfilt {what}"),
        );
        if !f["notch"].is_null() {
            assert_close(
                &filtered(&ba(&f["notch"]), &x, zp),
                &case["notch"],
                scale,
                &format!("notch {what}"),
            );
        }
    }
}

#[test]
fn fft_resampling_including_the_nyquist_bin() {
    for case in EXPECTED["fft"].as_array().unwrap() {
        let x = signal(&case["input"]);
        let num = usize_of(&case["num"]);
        let got = resample::resample(&x, num);
        assert_close(
            &got,
            &case["y"],
            None,
            &format!("resample to {num}: {}", case["input"]),
        );
    }
}

#[test]
fn polyphase_resampling_and_the_rate_ratio() {
    for case in EXPECTED["poly"].as_array().unwrap() {
        let (up, down) = (usize_of(&case["up"]), usize_of(&case["down"]));
        if let Some(rate) = case["rate"].as_array() {
            let [fs_in, fs_out] = [&rate[0], &rate[1]].map(|r| r.as_f64().unwrap());
            assert_eq!(
                poly::rational_ratio(fs_in, fs_out).unwrap(),
                (up, down),
                "{fs_in} Hz to {fs_out} Hz"
            );
        }
        let x = signal(&case["input"]);
        let got = poly::resample_poly(&x, up, down).unwrap();
        assert_close(
            &got,
            &case["y"],
            None,
            &format!("resample_poly {up}/{down}: {}", case["input"]),
        );
    }
}

#[test]
fn invalid_designs_are_errors_that_say_why() {
    let e = butter::butter(3, Band::Bandpass(0.5, 130.0), 256.0).unwrap_err();
    assert!(e.to_string().contains("Nyquist"), "{e}");
    let e = butter::butter(0, Band::Lowpass(10.0), 256.0).unwrap_err();
    assert!(e.to_string().contains("order"), "{e}");
    let e = butter::iirnotch(60.0, -1.0, 256.0).unwrap_err();
    assert!(e.to_string().contains("quality"), "{e}");
    let e = Ba::new(&[1.0], &[0.0, 1.0]).unwrap_err();
    assert!(e.to_string().contains("a[0]"), "{e}");
    let e = Sos::new(&[[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]).unwrap_err();
    assert!(e.to_string().contains("a0"), "{e}");
}
