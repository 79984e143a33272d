//! One-file ingests of mutated headers: a header that reads can still ask the
//! resampling for terabytes, so the fuzz runs the whole per-file path the CLI
//! runs (read, montage, preprocess, write), not only the reader.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{Outcome, ingest_one};
use crate::config::PreprocessConfig;
use crate::edf::{EdfWriter, StartTime, WriteSignal};
use crate::ingest::IngestOptions;
use crate::ingest::driver::Driver;

const ELECTRODES: [&str; 19] = [
    "FP1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "FZ", "CZ", "PZ", "FP2", "F4", "C4", "P4",
    "F8", "T4", "T6", "O2",
];
const NS: usize = ELECTRODES.len();
const RECORDS: usize = 4;

/// Header offsets: the number of data records, the record duration, and the
/// per-signal columns (signal `k` at `+ 8 k`).
const N_RECORDS: usize = 236;
const DURATION: usize = 244;
const PHYSICAL_MIN: usize = 256 + NS * 104;
const SAMPLES_PER_RECORD: usize = 256 + NS * 216;
const HEADER: usize = 256 * (NS + 1);

/// A corpus folder holding one valid TUSZ-like EDF: 19 referential
/// electrodes at 250 Hz (resampled to 256 Hz), four 1-s records.
fn corpus(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "brainbrr-ingest-fuzz-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let edf = dir.join("corpus").join("r.edf");
    std::fs::create_dir_all(edf.parent().unwrap()).unwrap();
    let n = 250 * RECORDS;
    let signals = ELECTRODES
        .iter()
        .enumerate()
        .map(|(c, e)| WriteSignal {
            label: format!("EEG {e}-REF"),
            sample_rate: 250.0,
            physical_dimension: "uV".into(),
            physical_min: -5000.0,
            physical_max: 5000.0,
            digital_min: -32767,
            digital_max: 32767,
            prefilter: String::new(),
            data: (0..n)
                .map(|i| 40.0 * ((i * (c + 3)) as f64 * 0.05).sin())
                .collect(),
        })
        .collect();
    EdfWriter {
        patient: "X".into(),
        recording: "X".into(),
        start: StartTime::default(),
        record_duration: 1.0,
        signals,
        annotations: Vec::new(),
    }
    .write(&edf)
    .unwrap();
    (dir, edf)
}

/// A tiny deterministic generator (xorshift64*): the fuzz is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Overwrites the 8-byte field at `at` with `value`, space-padded.
fn set(data: &mut [u8], at: usize, value: &str) {
    for i in 0..8 {
        if let Some(d) = data.get_mut(at + i) {
            *d = *value.as_bytes().get(i).unwrap_or(&b' ');
        }
    }
}

/// Record durations that once aborted the ingest, made a 1 MB file a 4 GB
/// store, or stored no sample, and ordinary ones that resample differently.
const DURATIONS: [&str; 20] = [
    "99999999", "65535", "21474836", "3000", "1e-9", "1e-300", "0.001", "1e8", "-1", "0", "nan",
    "0.5", "2", "0.25", "4", "10", "1", "1E3", "100", "0.0001",
];
const COUNTS: [&str; 10] = [
    "0", "1", "125", "250", "256", "500", "1000", "99999999", "1e7", "-5",
];
const RECORD_COUNTS: [&str; 8] = ["-1", "0", "1", "2", "4", "5", "99999999", "1e8"];

/// One random header mutation of `data`.
fn mutate(data: &mut [u8], rng: &mut Rng) {
    match rng.below(7) {
        0 | 1 => set(data, DURATION, rng.pick(&DURATIONS)),
        2 => {
            // Every electrode's samples per record (one rate), the record count
            // left to the file's size: these still reach the resampling.
            let v = rng.pick(&COUNTS);
            for k in 0..NS {
                set(data, SAMPLES_PER_RECORD + 8 * k, v);
            }
            set(data, N_RECORDS, "-1");
        }
        3 => set(
            data,
            SAMPLES_PER_RECORD + 8 * rng.below(NS),
            rng.pick(&COUNTS),
        ),
        4 => set(data, N_RECORDS, rng.pick(&RECORD_COUNTS)),
        5 => {
            // A physical or digital minimum or maximum of any signal.
            let at = PHYSICAL_MIN + 8 * rng.below(4 * NS);
            let v = format!("{}", (rng.next() as i64 >> 40) as f64 / 7.0);
            set(data, at, &v);
        }
        _ => {
            let at = rng.below(HEADER);
            for i in 0..1 + rng.below(8) {
                if let Some(d) = data.get_mut(at + i) {
                    *d = if rng.below(2) == 0 {
                        b"0123456789.-+e "[rng.below(15)]
                    } else {
                        rng.next() as u8
                    };
                }
            }
        }
    }
}

/// Ingests `bytes` as the corpus's one file into the driver's store.
fn ingest(driver: &Driver, edf: &Path, bytes: &[u8]) -> Outcome {
    std::fs::write(edf, bytes).unwrap();
    let src = &driver.queue()[0].0;
    let cfg = PreprocessConfig::default();
    ingest_one(
        src,
        &cfg,
        &cfg.hash(),
        driver.store(),
        &AtomicBool::new(false),
    )
}

fn driver(dir: &Path, edf: &Path) -> Driver {
    let cfg = PreprocessConfig::default();
    let driver = Driver::prepare(
        &[edf.parent().unwrap().to_owned()],
        &dir.join("store.zarr"),
        &cfg,
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(driver.queue().len(), 1);
    driver
}

#[test]
fn record_durations_out_of_range_fail_naming_the_file_and_field() {
    let (dir, edf) = corpus("durations");
    let seed = std::fs::read(&edf).unwrap();
    let driver = driver(&dir, &edf);
    assert!(matches!(ingest(&driver, &edf, &seed), Outcome::Ingested(_)));
    for value in ["99999999", "65535", "21474836", "3000", "1e-9"] {
        let mut data = seed.clone();
        set(&mut data, DURATION, value);
        match ingest(&driver, &edf, &data) {
            Outcome::Failed(reason) => {
                assert!(reason.starts_with(&edf.display().to_string()), "{reason}");
                assert!(reason.contains("\"duration of a data record\""), "{reason}");
            }
            other => panic!("record duration {value}: {other:?}"),
        }
    }
    // A rate that resamples to no sample at all is no recording.
    let mut data = seed.clone();
    set(&mut data, DURATION, "0.0001");
    for k in 0..NS {
        set(&mut data, SAMPLES_PER_RECORD + 8 * k, "1");
    }
    set(&mut data, N_RECORDS, "-1");
    data.truncate(HEADER + 2 * NS);
    match ingest(&driver, &edf, &data) {
        Outcome::Failed(reason) => assert!(reason.contains("no samples to store"), "{reason}"),
        other => panic!("{other:?}"),
    }
    drop(driver);
    std::fs::remove_dir_all(dir).unwrap();
}

/// 10,000 mutated headers through the one-file ingest: each is ingested or
/// fails with a reason naming the file; none panics or aborts.
#[test]
fn mutated_headers_never_abort_the_ingest() {
    let cases: usize = std::env::var("BRAINBRR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (dir, edf) = corpus("fuzz");
    let seed = std::fs::read(&edf).unwrap();
    let driver = driver(&dir, &edf);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    for case in 0..cases {
        let mut data = seed.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut data, &mut rng);
        }
        if rng.below(8) == 0 {
            data.truncate(rng.below(seed.len()));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| ingest(&driver, &edf, &data)));
        let key = match outcome {
            Ok(Outcome::Failed(reason)) => kind("failed", &reason, &edf, case),
            Ok(Outcome::Skipped(reason)) => kind("skipped", &reason, &edf, case),
            Ok(outcome) => outcome.name().to_owned(),
            Err(_) => {
                panics.push(case);
                "panicked".to_owned()
            }
        };
        *outcomes.entry(key).or_default() += 1;
    }
    for (kind, n) in &outcomes {
        println!("{n:6} {kind}");
    }
    assert!(panics.is_empty(), "panicked on cases {panics:?}");
    // Enough mutated headers still reach the resampling and the filters.
    assert!(outcomes.get("ingested").copied().unwrap_or(0) > cases / 20);
    drop(driver);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `outcome` and the kind of `reason`: its text without the file it must
/// start with and without the values.
fn kind(outcome: &str, reason: &str, edf: &Path, case: usize) -> String {
    let Some(rest) = reason.strip_prefix(&format!("{}: ", edf.display())) else {
        panic!("case {case}: the reason does not name the file: {reason}");
    };
    let kind: String = rest
        .split(['(', '"', '['])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(60)
        .collect();
    format!("{outcome}: {}", kind.trim())
}
