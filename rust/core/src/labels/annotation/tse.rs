//! TUSZ term files, `.tse` (seizure types) and `.tse_bi` (`seiz`/`bckg`):
//!
//! ```text
//! version = tse_v1.0.0
//!
//! 0.0000 36.8868 bckg 1.0000
//! 36.8868 183.3055 seiz 1.0000
//! ```
//!
//! The first line that is not blank is the `version = ...` line; then one
//! event a line, `start stop label [confidence]` separated by blanks (the
//! confidence is not read). Blank lines and `#` comments are skipped. The
//! rows have no channel: they describe the whole recording.

use std::path::Path;

use super::{Annotations, Builder, LABEL, Line, START, STOP};
use crate::labels::{LabelConfig, LabelError};

pub(super) fn parse(text: &str, path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let mut rows = Builder::new(cfg);
    let mut has_version = false;
    let mut fields = Vec::new();
    let mut end = 1;
    for line in Line::all(text, path, &mut end) {
        if line.text.starts_with('#') {
            continue;
        }
        if !has_version {
            match line.text.split_once('=') {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("version") => {
                    rows.out.version = Some(value.trim().to_owned());
                    has_version = true;
                    continue;
                }
                _ => {
                    return Err(LabelError::MissingVersion {
                        path: path.to_owned(),
                        line: line.line,
                        found: Some(line.text.to_owned()),
                    });
                }
            }
        }
        fields.clear();
        fields.extend(line.text.split_whitespace());
        let values = [
            line.field(&fields, 0, START)?,
            line.field(&fields, 1, STOP)?,
            line.field(&fields, 2, LABEL)?,
        ];
        rows.row(&line, None, values)?;
    }
    if !has_version {
        return Err(LabelError::MissingVersion {
            path: path.to_owned(),
            line: end,
            found: None,
        });
    }
    rows.finish(path, end)
}
