use super::*;

#[test]
fn names_round_trip_and_unknown_ones_list_the_choices() {
    for c in Corpus::ALL {
        assert_eq!(Corpus::from_name(c.name()), Ok(c));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!("\"{}\"", c.name())
        );
    }
    assert_eq!(Corpus::from_name(" CHBMIT "), Ok(Corpus::Chbmit));
    let e = Corpus::from_name("tuh").unwrap_err();
    assert!(e.contains("tusz, chbmit, siena, seizeit, bids"), "{e}");
}

#[test]
fn each_corpus_claims_its_own_names_only() {
    let cases = [
        (
            "edf/train/aaaaaaac/s001_2002/02_tcp_le/aaaaaaac_s001_t000.edf",
            Corpus::Tusz,
        ),
        ("chb01/chb01_03.edf", Corpus::Chbmit),
        ("chb17/chb17a_03.edf", Corpus::Chbmit),
        ("chb02/chb02_16+.edf", Corpus::Chbmit),
        ("PN00/PN00-1.edf", Corpus::Siena),
        ("PN10/PN10-7.8.9.edf", Corpus::Siena),
        ("P_ID10/P_ID10_r1.edf", Corpus::Seizeit),
        (
            "sub-01/ses-01/eeg/sub-01_ses-01_task-szMonitoring_run-00_eeg.edf",
            Corpus::Bids,
        ),
    ];
    for (rel, corpus) in cases {
        for c in Corpus::ALL {
            assert_eq!(c.claims(rel), c == corpus, "{rel} {c:?}");
        }
        assert_eq!(Corpus::detect([rel, "notes/readme.edf"]), Ok(corpus));
    }
    for rel in [
        "chb01/chb01.edf",
        "PN00/PN00.edf",
        "P_ID10/P_ID10_x1.edf",
        "a.edf",
        "chb01_03.txt",
    ] {
        assert!(Corpus::ALL.iter().all(|c| !c.claims(rel)), "{rel}");
    }
    assert_eq!(
        Corpus::detect(["a/b.edf"]),
        Ok(Corpus::Tusz),
        "no claim: read as TUSZ"
    );
    let e = Corpus::detect([
        "chb01/chb01_01.edf",
        "PN00/PN00-1.edf",
        "chb01/chb01_02.edf",
    ])
    .unwrap_err();
    assert!(
        e.contains("chbmit (chb01/chb01_01.edf), siena (PN00/PN00-1.edf)"),
        "{e}"
    );
}

#[test]
fn identity_as_each_corpus_names_it() {
    let id = |c: Corpus, rel: &str| {
        let i = c.identity(rel);
        (i.patient, i.session, i.run)
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        id(Corpus::Chbmit, "chb01/chb01_03.edf"),
        (s("chb01"), s("chb01"), s("chb01_03"))
    );
    assert_eq!(
        id(Corpus::Chbmit, "chb21/chb21_02.edf"),
        (s("chb01"), s("chb21"), s("chb21_02")),
        "the same person"
    );
    assert_eq!(
        id(Corpus::Chbmit, "chb17/chb17a_03.edf"),
        (s("chb17"), s("chb17"), s("chb17a_03"))
    );
    assert_eq!(
        id(Corpus::Siena, "PN10/PN10-7.8.9.edf"),
        (s("PN10"), None, s("PN10-7.8.9"))
    );
    assert_eq!(
        id(Corpus::Seizeit, "P_ID64/P_ID64_r10.edf"),
        (s("P_ID64"), None, s("P_ID64_r10"))
    );
    assert_eq!(
        id(
            Corpus::Bids,
            "sub-02/ses-01/eeg/sub-02_ses-01_task-szMonitoring_run-03_eeg.edf"
        ),
        (s("sub-02"), s("ses-01"), s("run-03"))
    );
    assert_eq!(
        id(Corpus::Bids, "sub-02/eeg/sub-02_task-x_eeg.edf"),
        (s("sub-02"), None, None)
    );
    assert_eq!(id(Corpus::Tusz, "a/b_s001_t000.edf"), (None, None, None));
}

/// A fresh folder holding `files` (path relative to it, content).
fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brainbrr-corpus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const SUMMARY: &str = "File Name: chb01_01.edf\nNumber of Seizures in File: 1\n\
    Seizure Start Time: 10 seconds\nSeizure End Time: 20 seconds\n\n\
    File Name: chb01_05.edf\nNumber of Seizures in File: 0\n";

#[test]
fn a_summary_naming_an_absent_file_is_reported() {
    let root = tree(
        "absent",
        &[
            ("chb01/chb01-summary.txt", SUMMARY),
            ("chb01/chb01_01.edf", ""),
            ("chb01/chb01_02.edf", ""),
        ],
    );
    let rels = ["chb01/chb01_01.edf", "chb01/chb01_02.edf"];
    assert_eq!(
        Corpus::Chbmit.source_warnings(&root, &rels),
        [(
            "chb01/chb01-summary.txt".to_owned(),
            "lists chb01_05.edf, which is not in the folder".to_owned()
        )]
    );
    assert!(Corpus::Tusz.source_warnings(&root, &rels).is_empty());
}

#[test]
fn annotations_are_found_where_each_corpus_keeps_them() {
    let root = tree(
        "lookup",
        &[
            ("chb01/chb01-summary.txt", SUMMARY),
            ("P_ID1/P_ID1_r1_a1.tsv", "# c\n5\t9\tFA\t\n"),
            (
                "sub-1/eeg/sub-1_run-1_events.tsv",
                "onset\tduration\teventType\n1\t2\tsz\n",
            ),
        ],
    );
    let read = |corpus: Corpus, rel: &str| {
        let edf = root.join(rel);
        let rec = RecordingFile {
            edf: &edf,
            root: &root,
            start_clock_s: None,
            duration_s: 60.0,
        };
        corpus
            .annotation(&rec, &LabelConfig::default())
            .unwrap()
            .map(|a| {
                (
                    a.path.strip_prefix(&root).unwrap().to_owned(),
                    a.annotations.seizures,
                )
            })
    };
    let interval = |start: f64, stop: f64| vec![labels::Interval { start, stop }];
    assert_eq!(
        read(Corpus::Chbmit, "chb01/chb01_01.edf"),
        Some((
            PathBuf::from("chb01/chb01-summary.txt"),
            interval(10.0, 20.0)
        ))
    );
    assert_eq!(
        read(Corpus::Chbmit, "chb01/chb01_02.edf"),
        None,
        "not listed: unlabeled"
    );
    assert_eq!(
        read(Corpus::Chbmit, "chb02/chb02_01.edf"),
        None,
        "no summary: unlabeled"
    );
    assert_eq!(
        read(Corpus::Seizeit, "P_ID1/P_ID1_r1.edf"),
        Some((PathBuf::from("P_ID1/P_ID1_r1_a1.tsv"), interval(5.0, 9.0)))
    );
    assert_eq!(read(Corpus::Seizeit, "P_ID1/P_ID1_r2.edf"), None);
    assert_eq!(
        read(Corpus::Bids, "sub-1/eeg/sub-1_run-1_eeg.edf"),
        Some((
            PathBuf::from("sub-1/eeg/sub-1_run-1_events.tsv"),
            interval(1.0, 3.0)
        ))
    );
    assert_eq!(
        read(Corpus::Siena, "PN00/PN00-1.edf"),
        None,
        "no list: unlabeled"
    );
}
