use super::*;

fn tables() -> IndexTables {
    let mut t = IndexTables {
        window_samples: 4,
        stride_samples: 2,
        ..Default::default()
    };
    for (rid, n, windows) in [("a", 8, 3), ("b", 2, 0)] {
        let r = &mut t.recordings;
        let row = r.rid.len() as i32;
        r.window_offset.push(t.windows.start.len() as i64);
        for col in [
            &mut r.rid,
            &mut r.path,
            &mut r.split,
            &mut r.patient,
            &mut r.session,
            &mut r.run,
            &mut r.corpus,
            &mut r.start_time,
        ] {
            col.push(rid.to_owned());
        }
        r.n_samples.push(n);
        r.fs_in.push(250.0);
        r.channel_annotated.push(rid == "a");
        r.n_windows.push(windows);
        for k in 0..windows {
            t.windows.recording.push(row);
            t.windows.start.push(2 * k);
            t.windows.label.push(0);
            t.windows.seizure_fraction.push(0.0);
            t.windows.seizure_type.push(0);
        }
    }
    t
}

#[test]
fn consistent_tables_have_no_problems() {
    assert!(tables().problems().is_empty());
    assert!(IndexTables::default().problems().is_empty());
}

#[test]
fn problems_name_the_inconsistency() {
    let mut t = tables();
    t.recordings.path.pop();
    assert!(t.problems()[0].contains("column lengths differ"));
    let mut t = tables();
    t.recordings.channel_present = vec![vec![true, false], vec![true]];
    assert!(t.problems()[0].contains("channel_present: not one row of equal length"));
    t.recordings.channel_present[1].push(true);
    assert!(t.problems().is_empty());
    let mut t = tables();
    t.windows.recording[1] = 1;
    let problems = t.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("index/windows row 1: recording 1")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("start 2 + 4 samples lies outside recording 1")),
        "{problems:?}"
    );
    let mut t = tables();
    let c = &mut t.channel_seizures;
    c.recording.extend([0, 0]);
    c.channel.extend(["FP1-F7".to_owned(), "F7-T3".to_owned()]);
    c.start.extend([0, 6]);
    c.stop.extend([8, 9]);
    c.seizure_type.extend([2, 2]);
    let problems = t.problems();
    assert_eq!(
        problems,
        ["index/channel_seizures row 1: samples 6..9 lie outside recording 0"]
    );
    t.channel_seizures.stop.pop();
    assert!(t.problems()[0].contains("index/channel_seizures: column lengths differ"));
    let mut t = tables();
    t.recordings.rid[0] = "../up".to_owned();
    assert!(t.problems()[0].contains("invalid recording id"));
    let mut t = tables();
    t.recordings.rid[1] = "a".to_owned();
    assert!(t.problems()[0].contains("recording id a repeats"));
    let mut t = tables();
    t.recordings.window_offset[1] = 2;
    t.recordings.n_windows[1] = 2;
    let problems = t.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("outside the 3 window rows")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("n_windows sum to 5")),
        "{problems:?}"
    );
    let mut t = tables();
    t.failures.push("x.edf", FailureKind::Skipped, "too short");
    assert!(t.problems().is_empty());
    t.failures.kind.pop();
    assert!(t.problems()[0].contains("index/failures: column lengths differ [1, 0, 1]"));
}

#[test]
fn channel_present_defaults_to_every_channel() {
    let mut t = tables();
    let r = &mut t.recordings;
    assert_eq!(r.channel_present_matrix(3), (vec![true; 6], 3));
    r.channel_present = vec![vec![true, false], vec![false, true]];
    assert_eq!(
        r.channel_present_matrix(3),
        (vec![true, false, false, true], 2)
    );
    assert_eq!(
        FailureKind::parse(FailureKind::Skipped.as_str()),
        Some(FailureKind::Skipped)
    );
    assert_eq!(FailureKind::parse("skipped: "), None);
}
