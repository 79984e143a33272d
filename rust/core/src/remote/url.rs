//! `s3://bucket/prefix` URLs and the keys below them: which keys map to one
//! local path each.

use super::RemoteError;

/// Whether `s` names object storage rather than a local path.
pub fn is_url(s: &str) -> bool {
    s.starts_with("s3://")
}

/// `s3://bucket/prefix`: a bucket and a key prefix without leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (no trailing `/`), empty for the whole bucket.
    pub prefix: String,
}

impl Url {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// Another scheme, no bucket, or a prefix with empty, `.` or `..` segments
    /// (keys that would not map to one local path each).
    pub fn parse(url: &str) -> Result<Self, RemoteError> {
        let bad = |reason: &str| RemoteError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.split('/').all(is_plain_segment) {
            return Err(bad("empty, '.' or '..' segments in the key"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The key of `rel` (a `/`-separated path) under the prefix.
    pub fn key(&self, rel: &str) -> String {
        match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        }
    }

    /// The prefix as a key prefix that lists what lies below it: `prefix/`, or empty.
    pub fn dir(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// The URL of `key` in this bucket.
    pub fn of_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `key` relative to the prefix, if it lies below it.
    pub fn rel<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.prefix.is_empty() {
            return Some(key);
        }
        key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A key segment that maps to one local path component.
pub fn is_plain_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_name_the_problem() {
        let u = Url::parse("s3://bucket/a/b/").expect("valid");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("bucket", "a/b"));
        assert_eq!(u.key("x.edf"), "a/b/x.edf");
        assert_eq!(u.rel("a/b/c/x.edf"), Some("c/x.edf"));
        assert_eq!(u.rel("a/bc/x.edf"), None);
        let whole = Url::parse("s3://bucket").expect("valid");
        assert_eq!(
            (whole.prefix.as_str(), whole.key("x")),
            ("", "x".to_owned())
        );
        for bad in [
            "s3://",
            "s3:///x",
            "http://b/x",
            "s3://b/a/../x",
            "s3://b//x",
        ] {
            let e = Url::parse(bad).expect_err(bad).to_string();
            assert!(e.starts_with(bad), "{e}");
        }
    }
}
