//! Naming the differences between two JSON values: how a mismatching config is
//! reported, parameter by parameter.

use std::collections::BTreeSet;

use serde_json::Value;

/// One difference: the dotted path (`bandpass.high`, `channels[3]`) and both
/// values as JSON text (`(absent)` where a side lacks the key).
pub type Difference = (String, String, String);

/// The leaves where `a` and `b` differ, in path order; empty when equal.
///
/// ```
/// use serde_json::json;
///
/// let stored = json!({"bandpass": {"low": 0.5, "high": 120.0}, "target_fs": 256.0});
/// let asked = json!({"bandpass": {"low": 0.5, "high": 100.0}, "target_fs": 256.0});
/// assert_eq!(
///     brainbrr_core::json::diff(&stored, &asked),
///     [("bandpass.high".to_owned(), "120.0".to_owned(), "100.0".to_owned())]
/// );
/// ```
pub fn diff(a: &Value, b: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_into(String::new(), Some(a), Some(b), &mut out);
    out
}

fn diff_into(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_into(sub, a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => {
            let show =
                |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
            let path = if path.is_empty() {
                "(root)".to_owned()
            } else {
                path
            };
            out.push((path, show(a), show(b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_each_path() {
        let a = json!({"dsp": {"fs": 256, "band": [0.5, 120.0]}, "jobs": 1, "old": true});
        let b = json!({"dsp": {"fs": 250, "band": [0.5, 100.0]}, "jobs": 1, "new": "x"});
        let d: Vec<String> = diff(&a, &b)
            .into_iter()
            .map(|(p, x, y)| format!("{p}: {x} != {y}"))
            .collect();
        assert_eq!(
            d,
            [
                "dsp.band[1]: 120.0 != 100.0",
                "dsp.fs: 256 != 250",
                "new: (absent) != \"x\"",
                "old: true != (absent)"
            ]
        );
        assert!(diff(&a, &a).is_empty());
        assert_eq!(
            diff(&json!([1]), &json!([1, 2])),
            [("(root)".to_owned(), "[1]".to_owned(), "[1,2]".to_owned())]
        );
    }
}
