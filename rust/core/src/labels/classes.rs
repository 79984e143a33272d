//! Seizure types as the contiguous class ids a classifier is trained on.
//!
//! The stored type codes (`types::TYPE_CODES`, 0 background, 1 unknown type,
//! 2-12 the types) are already contiguous; a [`Vocabulary`] names them in
//! TUSZ's or SzCORE's words, or merges them: a mapping from type names (of
//! either vocabulary) to class ids gives each code the class of its name,
//! else of its nearest SzCORE ancestor that the mapping names
//! (`{"bckg": 0, "sz_foc": 1, "sz_gen": 2}` puts `cpsz`, `sz_foc_ia`, in 1).

use std::collections::BTreeMap;

use super::types::{FIRST_NON_TUSZ, N_CODES, szcore_ancestors, szcore_name, type_code, type_name};
use super::{UNLABELED, types};

/// How type codes become classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vocabulary {
    /// One class per code, named by TUSZ's labels (`fbtc` for the one TUSZ lacks).
    Tusz,
    /// One class per code, named by SzCORE's HED-SCORE names.
    Szcore,
    /// Type names to class ids, `0..K` each used.
    Mapping(BTreeMap<String, u8>),
}

/// The classes of a vocabulary: `of_code[code]` is the class of each stored
/// code (255 for unlabeled, which has none), `names[k]` names class `k`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    /// Class of each code, indexed by code (256 entries).
    pub of_code: Vec<u8>,
    /// The name of each class: the vocabulary's name of its code, or for a
    /// mapping the names mapped to it joined by `|`.
    pub names: Vec<String>,
}

impl Classes {
    /// The classes of `vocabulary`.
    ///
    /// # Errors
    /// For a mapping: a name that is no type, class ids that are not
    /// `0..K` each used, a type that neither its name nor an ancestor's maps
    /// (naming it and the mapping's names).
    pub fn of(vocabulary: &Vocabulary) -> Result<Self, String> {
        let mut of_code = vec![UNLABELED; 256];
        let named = |name: fn(u8) -> Option<&'static str>| {
            (0..N_CODES as u8)
                .map(|c| name(c).unwrap_or_default().to_owned())
                .collect()
        };
        let names = match vocabulary {
            Vocabulary::Tusz => named(type_name),
            Vocabulary::Szcore => named(szcore_name),
            Vocabulary::Mapping(map) => return mapped(map),
        };
        for code in 0..N_CODES as u8 {
            of_code[usize::from(code)] = code;
        }
        Ok(Self { of_code, names })
    }
}

fn mapped(map: &BTreeMap<String, u8>) -> Result<Classes, String> {
    let mut by_code: BTreeMap<u8, u8> = BTreeMap::new();
    for name in map.keys() {
        if type_code(name).is_none() {
            return Err(format!(
                "type {name:?} in the class mapping is neither a TUSZ label nor a SzCORE name"
            ));
        }
    }
    let lookup = |name: &str| {
        map.iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, &v)| v)
    };
    for code in 0..N_CODES as u8 {
        let szcore = szcore_name(code).unwrap_or_default();
        // The code's own names first, then its SzCORE ancestors' (and theirs in TUSZ's words).
        let candidates = [type_name(code).unwrap_or_default()].into_iter().chain(
            szcore_ancestors(szcore).flat_map(|a| {
                let tusz = types::szcore_code(a).and_then(type_name);
                std::iter::once(a).chain(tusz)
            }),
        );
        let mut class = None;
        for c in candidates {
            if let Some(k) = lookup(c) {
                class = Some(k);
                break;
            }
        }
        match class {
            Some(k) => {
                by_code.insert(code, k);
            }
            // fbtc and later are types TUSZ never writes; TUSZ-only mappings
            // still need them placed, which their ancestors do.
            None => {
                let name = type_name(code).unwrap_or_default();
                let extra = if code >= FIRST_NON_TUSZ {
                    format!(" (SzCORE {szcore})")
                } else {
                    String::new()
                };
                return Err(format!(
                    "the class mapping gives no class to type {name:?}{extra}, nor to any type above it; map it or an ancestor (names: {:?})",
                    map.keys().collect::<Vec<_>>()
                ));
            }
        }
    }
    let k = usize::from(*by_code.values().max().unwrap_or(&0)) + 1;
    let mut names: Vec<Vec<&str>> = vec![Vec::new(); k];
    for (name, &class) in map {
        names[usize::from(class)].push(name);
    }
    if let Some(unused) = names.iter().position(Vec::is_empty) {
        return Err(format!(
            "class ids must run from 0 to {}, each used: no type maps to class {unused}",
            k - 1
        ));
    }
    let mut of_code = vec![UNLABELED; 256];
    for (code, class) in by_code {
        of_code[usize::from(code)] = class;
    }
    Ok(Classes {
        of_code,
        names: names.into_iter().map(|n| n.join("|")).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabularies_name_the_contiguous_codes() {
        let t = Classes::of(&Vocabulary::Tusz).unwrap();
        assert_eq!(t.names.len(), 13);
        assert_eq!(
            (
                t.names[0].as_str(),
                t.names[5].as_str(),
                t.names[12].as_str()
            ),
            ("bckg", "cpsz", "fbtc")
        );
        assert_eq!((t.of_code[5], t.of_code[255]), (5, 255));
        let s = Classes::of(&Vocabulary::Szcore).unwrap();
        assert_eq!(
            (
                s.names[1].as_str(),
                s.names[5].as_str(),
                s.names[12].as_str()
            ),
            ("sz", "sz_foc_ia", "sz_foc_f2b")
        );
        assert_eq!(s.of_code, t.of_code);
    }

    #[test]
    fn a_mapping_merges_types_through_their_ancestors() {
        let map = |pairs: &[(&str, u8)]| {
            Vocabulary::Mapping(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
        };
        let c = Classes::of(&map(&[
            ("bckg", 0),
            ("seiz", 1),
            ("sz_foc", 2),
            ("GNSZ", 3),
        ]))
        .unwrap();
        // cpsz is sz_foc_ia, under sz_foc; fbtc (sz_foc_f2b) too; tcsz is sz_gen_m_tonicClonic, under gnsz.
        let class = |name: &str| c.of_code[usize::from(type_code(name).unwrap())];
        assert_eq!(
            (
                class("bckg"),
                class("seiz"),
                class("fnsz"),
                class("cpsz"),
                class("fbtc")
            ),
            (0, 1, 2, 2, 2)
        );
        assert_eq!((class("gnsz"), class("tcsz"), class("absz")), (3, 3, 3));
        assert_eq!(c.names, ["bckg", "seiz", "sz_foc", "GNSZ"]);
        // Binary: every seizure type under `sz`.
        let b = Classes::of(&map(&[("bckg", 0), ("sz", 1)])).unwrap();
        assert!((1..13).all(|code| b.of_code[code] == 1));
        let e = Classes::of(&map(&[("bckg", 0), ("fnsz", 1)])).unwrap_err();
        assert!(e.contains("no class to type \"seiz\""), "{e}");
        let e = Classes::of(&map(&[("bckg", 0), ("sz", 2)])).unwrap_err();
        assert!(e.contains("no type maps to class 1"), "{e}");
        let e = Classes::of(&map(&[("bckg", 0), ("sz", 1), ("spike", 1)])).unwrap_err();
        assert!(e.contains("\"spike\""), "{e}");
    }
}
