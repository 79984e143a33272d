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
//!
//! Each code also has its SzCORE name ([`SZCORE_NAMES`]: the HED-SCORE
//! vocabulary of BIDS `events.tsv` files, as epilepsy2bids maps TUSZ's types),
//! so a label of either vocabulary has one code. A SzCORE name without a code
//! of its own is a subtype and takes its nearest ancestor's
//! (`sz_foc_a_m_automatisms` is `sz_foc_a`, 4).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::{BACKGROUND, Event, SEIZURE, UNLABELED};

/// The per-sample seizure type codes: `(code, name, description)`. Fixed: the
/// codes are stored, so an entry is never renumbered. Names are the TUSZ
/// labels, lower-case, then (from [`FIRST_NON_TUSZ`]) the types other corpora
/// name that TUSZ has no label for.
pub const TYPE_CODES: [(u8, &str, &str); 14] = [
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
    (12, "fbtc", "focal to bilateral tonic-clonic seizure"),
    (UNLABELED, "unlabeled", "no annotation file"),
];

/// The first code that is not a TUSZ label: TUSZ's are `0..FIRST_NON_TUSZ`.
pub const FIRST_NON_TUSZ: u8 = 12;

/// Codes below this are the labelled ones (every code but [`UNLABELED`]).
pub(super) const N_CODES: usize = 13;

/// The SzCORE (HED-SCORE) name of each labelled code.
pub const SZCORE_NAMES: [(u8, &str); N_CODES] = [
    (BACKGROUND, "bckg"),
    (SEIZURE, "sz"),
    (2, "sz_foc"),
    (3, "sz_gen"),
    (4, "sz_foc_a"),
    (5, "sz_foc_ia"),
    (6, "sz_gen_nm"),
    (7, "sz_gen_m_tonic"),
    (8, "sz_gen_m_clonic"),
    (9, "sz_gen_m_tonicClonic"),
    (10, "sz_gen_m_atonic"),
    (11, "sz_gen_nm_myoclonic"),
    (12, "sz_foc_f2b"),
];

/// The code of a label (case and surrounding blanks ignored), or `None`: a
/// TUSZ label (`bckg`, `seiz`, `fnsz`, ...) or a SzCORE name (`sz_foc_ia`,
/// or a subtype of one, which takes its nearest ancestor's code).
pub fn type_code(label: &str) -> Option<u8> {
    let label = label.trim();
    TYPE_CODES
        .iter()
        .find(|(code, name, _)| *code != UNLABELED && name.eq_ignore_ascii_case(label))
        .map(|(code, ..)| *code)
        .or_else(|| szcore_ancestors(label).find_map(szcore_code))
}

/// The SzCORE name of a code (`sz_foc_ia`), or `None` (255, unknown codes).
pub fn szcore_name(code: u8) -> Option<&'static str> {
    SZCORE_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The code of exactly this SzCORE name, case ignored.
pub(super) fn szcore_code(name: &str) -> Option<u8> {
    SZCORE_NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(code, _)| *code)
}

/// `name` and its ancestors in the SzCORE hierarchy, nearest first
/// (`sz_foc_a_m` then `sz_foc_a`, `sz_foc`, `sz`); nothing for a name outside
/// it (the hierarchy is written into the names: one `_` segment per level).
pub(super) fn szcore_ancestors(name: &str) -> impl Iterator<Item = &str> {
    let inside = name.eq_ignore_ascii_case("sz")
        || name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("sz_"));
    let mut next = inside.then_some(name);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.rsplit_once('_').map(|(parent, _)| parent);
        Some(current)
    })
}

/// The names a label answers to in a list of labels: itself, and for a
/// SzCORE name the TUSZ label of it and of each of its ancestors
/// (`sz_foc_f2b`: `fbtc`, `fnsz`, `seiz`), so that TUSZ's seizure list
/// covers the SzCORE names under it.
pub(super) fn lineage<'a>(label: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let label = label.trim();
    std::iter::once(label).chain(
        szcore_ancestors(label)
            .filter_map(szcore_code)
            .filter_map(|code| -> Option<&'a str> { type_name(code) }),
    )
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
                "fbtc",
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
        assert_eq!(type_name(13), None);
        assert_eq!(type_name(FIRST_NON_TUSZ), Some("fbtc"));
    }

    #[test]
    fn szcore_names_have_the_codes_of_their_tusz_labels() {
        // epilepsy2bids' mapping of TUSZ's types to SzCORE's.
        for (tusz, szcore) in [
            ("bckg", "bckg"),
            ("seiz", "sz"),
            ("fnsz", "sz_foc"),
            ("gnsz", "sz_gen"),
            ("spsz", "sz_foc_a"),
            ("cpsz", "sz_foc_ia"),
            ("absz", "sz_gen_nm"),
            ("tnsz", "sz_gen_m_tonic"),
            ("cnsz", "sz_gen_m_clonic"),
            ("tcsz", "sz_gen_m_tonicClonic"),
            ("atsz", "sz_gen_m_atonic"),
            ("mysz", "sz_gen_nm_myoclonic"),
        ] {
            let code = type_code(tusz).unwrap();
            assert_eq!(type_code(szcore), Some(code), "{szcore}");
            assert_eq!(szcore_name(code), Some(szcore));
        }
        assert_eq!(type_code("SZ_GEN_M_TONICCLONIC"), Some(9));
        assert_eq!(type_code("sz_foc_f2b"), Some(12));
        // Subtypes take their nearest ancestor's code.
        assert_eq!(type_code("sz_foc_a_m_automatisms"), Some(4));
        assert_eq!(type_code("sz_uc"), Some(SEIZURE));
        assert_eq!(type_code("sz_gen_m"), Some(3));
        for outside in ["szx", "s", "", "_sz", "bckg_x", "seiz_foc"] {
            assert_eq!(type_code(outside), None, "{outside:?}");
        }
        assert_eq!(szcore_name(UNLABELED), None);
        let names: Vec<&str> = lineage("sz_foc_f2b").collect();
        assert_eq!(names, ["sz_foc_f2b", "fbtc", "fnsz", "seiz"]);
        assert_eq!(lineage(" cpsz ").collect::<Vec<_>>(), ["cpsz"]);
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
