//! Seizure types: the fixed code table, and the type of each instant of a recording.
//!
//! Each seizure row of an annotation file carries a type code ([`TYPE_CODES`]).
//! Where rows overlap (a `.csv` has one row per channel of the bipolar
//! montage, and channels may disagree), the type at an instant is the one that
//! covers the most channels then; ties go to the lower code, except code 1
//! (`seiz`, type unknown), which loses every tie to a named type. A channel
//! counts once per type however many of its rows overlap. Rows without a
//! channel (`.tse`) all count as one channel, like the `TERM` rows of a
//! `.csv_bi`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::{BACKGROUND, Event, SEIZURE, UNLABELED};

/// The per-sample seizure type codes: `(code, name, description)`. Fixed: the
/// codes are stored, so an entry is never renumbered. Names are the TUSZ
/// labels, lower-case.
pub const TYPE_CODES: [(u8, &str, &str); 13] = [
    (BACKGROUND, "bckg", "background: no seizure"),
    (SEIZURE, "seiz", "seizure of unknown type"),
    (2, "fnsz", "focal non-specific seizure"),
    (3, "gnsz", "generalized non-specific seizure"),
    (4, "spsz", "simple partial seizure"),
    (5, "cpsz", "complex partial seizure"),
    (6, "absz", "absence seizure"),
    (7, "tnsz", "tonic seizure"),
    (8, "cnsz", "clonic seizure"),
    (9, "tcsz", "tonic-clonic seizure"),
    (10, "atsz", "atonic seizure"),
    (11, "mysz", "myoclonic seizure"),
    (UNLABELED, "unlabeled", "no annotation file"),
];

/// Codes below this are the labelled ones (every code but [`UNLABELED`]).
const N_CODES: usize = 12;

/// The code of a TUSZ label (`bckg`, `seiz` or a seizure type; case and
/// surrounding blanks ignored), or `None`.
pub fn type_code(label: &str) -> Option<u8> {
    let label = label.trim();
    TYPE_CODES
        .iter()
        .find(|(code, name, _)| *code != UNLABELED && name.eq_ignore_ascii_case(label))
        .map(|(code, ..)| *code)
}

/// The name of a type code (`fnsz`, `unlabeled`), or `None` if it has none.
pub fn type_name(code: u8) -> Option<&'static str> {
    TYPE_CODES
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, name, _)| *name)
}

/// A half-open time interval `[start, stop)`, seconds, with one seizure type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypedInterval {
    /// First instant inside, seconds.
    pub start: f64,
    /// First instant past the end, seconds.
    pub stop: f64,
    /// Seizure type code ([`TYPE_CODES`]), never [`BACKGROUND`].
    pub code: u8,
}

/// The seizure type over time of `events`, as the module doc says: sorted,
/// non-overlapping intervals whose union is that of the non-empty seizure
/// events, with a new interval wherever the type changes.
pub(super) fn resolve(events: &[Event]) -> Vec<TypedInterval> {
    let mut channels: BTreeMap<&str, usize> = BTreeMap::new();
    // (time, opens, channel, code): each seizure event opens and closes once.
    let mut edges = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.code != BACKGROUND && e.start < e.stop)
    {
        let next = channels.len();
        let channel = *channels
            .entry(e.channel.as_deref().unwrap_or_default())
            .or_insert(next);
        edges.push((e.start, true, channel, e.code));
        edges.push((e.stop, false, channel, e.code));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Open rows of each (channel, code), and channels covered by each code.
    let mut open: HashMap<(usize, u8), u32> = HashMap::new();
    let mut covered = [0u32; N_CODES];
    let mut out = Vec::new();
    let mut current: Option<(f64, u8)> = None;
    // All edges at one instant are applied before the type there is chosen.
    for group in edges.chunk_by(|a, b| a.0 == b.0) {
        for &(_, opens, channel, code) in group {
            let rows = open.entry((channel, code)).or_default();
            let was_open = *rows > 0;
            *rows = if opens {
                *rows + 1
            } else {
                rows.saturating_sub(1)
            };
            if let Some(n) = covered.get_mut(usize::from(code))
                && was_open != (*rows > 0)
            {
                *n = if was_open {
                    n.saturating_sub(1)
                } else {
                    *n + 1
                };
            }
        }
        let Some(&(t, ..)) = group.first() else {
            continue;
        };
        let winner = winner(&covered);
        if current.map(|(_, code)| code) != winner {
            if let Some((start, code)) = current {
                out.push(TypedInterval {
                    start,
                    stop: t,
                    code,
                });
            }
            current = winner.map(|code| (t, code));
        }
    }
    out
}

/// The code covering the most channels, ties to the lower code with `seiz`
/// last; `None` when no code covers any.
fn winner(covered: &[u32; N_CODES]) -> Option<u8> {
    (0..N_CODES)
        .filter_map(|c| Some((u8::try_from(c).ok()?, *covered.get(c)?)))
        .filter(|&(code, n)| code != BACKGROUND && n > 0)
        .max_by_key(|&(code, n)| (n, Reverse(if code == SEIZURE { u8::MAX } else { code })))
        .map(|(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(channel: &str, start: f64, stop: f64, label: &str) -> Event {
        Event {
            channel: (!channel.is_empty()).then(|| channel.to_owned()),
            start,
            stop,
            label: label.to_owned(),
            code: type_code(label).unwrap_or(SEIZURE),
            line: 0,
        }
    }

    fn ti(start: f64, stop: f64, label: &str) -> TypedInterval {
        TypedInterval {
            start,
            stop,
            code: type_code(label).unwrap_or(UNLABELED),
        }
    }

    #[test]
    fn the_code_table_is_fixed() {
        let names: Vec<&str> = TYPE_CODES.iter().map(|(_, n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "bckg",
                "seiz",
                "fnsz",
                "gnsz",
                "spsz",
                "cpsz",
                "absz",
                "tnsz",
                "cnsz",
                "tcsz",
                "atsz",
                "mysz",
                "unlabeled"
            ]
        );
        for (i, (code, name, _)) in TYPE_CODES.iter().take(N_CODES).enumerate() {
            assert_eq!(usize::from(*code), i);
            assert_eq!(type_code(name), Some(*code));
            assert_eq!(type_code(&name.to_ascii_uppercase()), Some(*code));
            assert_eq!(type_name(*code), Some(*name));
        }
        assert_eq!(type_code(" CnSz "), Some(8));
        assert_eq!(type_code("atsz"), Some(10));
        // 255 has a name for the store's table but is no label.
        assert_eq!(type_name(UNLABELED), Some("unlabeled"));
        assert_eq!((type_code("unlabeled"), type_code("artf")), (None, None));
        assert_eq!(type_name(12), None);
    }

    #[test]
    fn one_channel_types_follow_the_rows() {
        let events = [
            ev("TERM", 0.0, 10.0, "bckg"),
            ev("TERM", 10.0, 20.0, "cpsz"),
            ev("TERM", 20.0, 30.0, "cpsz"),
            ev("TERM", 30.0, 35.0, "tcsz"),
            ev("TERM", 50.0, 50.0, "gnsz"),
            ev("TERM", 60.0, 70.0, "seiz"),
        ];
        // Touching rows of one type stay one interval; the empty row is dropped.
        assert_eq!(
            resolve(&events),
            [
                ti(10.0, 30.0, "cpsz"),
                ti(30.0, 35.0, "tcsz"),
                ti(60.0, 70.0, "seiz")
            ]
        );
        assert!(resolve(&[]).is_empty());
        assert!(resolve(&[ev("", 0.0, 9.0, "bckg")]).is_empty());
    }

    #[test]
    fn channels_vote_and_ties_follow_the_code_order() {
        let events = [
            ev("FP1-F7", 10.0, 40.0, "cpsz"),
            ev("F7-T3", 10.0, 40.0, "cpsz"),
            ev("T3-T5", 20.0, 30.0, "tcsz"),
            ev("T5-O1", 20.0, 30.0, "tcsz"),
            ev("P3-O1", 20.0, 30.0, "tcsz"),
            ev("C3-P3", 35.0, 45.0, "fnsz"),
            ev("C3-P3", 36.0, 38.0, "fnsz"),
        ];
        // 20-30: tcsz on 3 channels beats cpsz on 2. 35-40: cpsz 2 beats fnsz 1
        // (C3-P3's two overlapping rows count once). 40-45: fnsz alone.
        assert_eq!(
            resolve(&events),
            [
                ti(10.0, 20.0, "cpsz"),
                ti(20.0, 30.0, "tcsz"),
                ti(30.0, 40.0, "cpsz"),
                ti(40.0, 45.0, "fnsz")
            ]
        );
        // Ties: the lower code wins (fnsz 2 < cpsz 5); seiz loses to any type.
        let tie = [ev("A", 0.0, 1.0, "cpsz"), ev("B", 0.0, 1.0, "fnsz")];
        assert_eq!(resolve(&tie), [ti(0.0, 1.0, "fnsz")]);
        let tie = [ev("A", 0.0, 1.0, "seiz"), ev("B", 0.0, 1.0, "mysz")];
        assert_eq!(resolve(&tie), [ti(0.0, 1.0, "mysz")]);
        // Order of rows in the file does not matter.
        let mut reversed = events.to_vec();
        reversed.reverse();
        assert_eq!(resolve(&reversed), resolve(&events));
    }
}
