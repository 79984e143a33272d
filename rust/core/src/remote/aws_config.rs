//! The S3 client configured the way the AWS tools are, the first found
//! winning: the `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL`), then the profile `AWS_PROFILE` (or `default`) of the
//! shared files `~/.aws/credentials` and `~/.aws/config`
//! (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`). An endpoint that says
//! `http://` allows plain HTTP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object_store::aws::{AmazonS3, AmazonS3Builder};

/// A client for `bucket`, configured from the environment and the shared AWS
/// files, retrying transient errors with exponential backoff.
///
/// # Errors
/// A configuration the client refuses.
pub(super) fn client(bucket: &str) -> Result<AmazonS3, object_store::Error> {
    let settings = Settings::load();
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
        .with_retry(object_store::RetryConfig::default());
    if let (Some(id), Some(secret)) = (&settings.key_id, &settings.secret) {
        b = b.with_access_key_id(id).with_secret_access_key(secret);
    }
    if let Some(token) = &settings.token {
        b = b.with_token(token);
    }
    if let Some(endpoint) = &settings.endpoint {
        b = b
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    b.build()
}

/// What the AWS tools would use: the environment first, then the profile's files.
#[derive(Debug, Default)]
struct Settings {
    key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
}

impl Settings {
    fn load() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = env("HOME").map(PathBuf::from);
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let file = |var: &str, name: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let creds = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            .map(|p| ini_section(&p, &profile))
            .unwrap_or_default();
        // The config file names every profile but the default `profile NAME`.
        let section = if profile == "default" {
            profile.clone()
        } else {
            format!("profile {profile}")
        };
        let config = file("AWS_CONFIG_FILE", "config")
            .map(|p| ini_section(&p, &section))
            .unwrap_or_default();
        let from_files = |k: &str| creds.get(k).or_else(|| config.get(k)).cloned();
        Self {
            key_id: env("AWS_ACCESS_KEY_ID").or_else(|| from_files("aws_access_key_id")),
            secret: env("AWS_SECRET_ACCESS_KEY").or_else(|| from_files("aws_secret_access_key")),
            token: env("AWS_SESSION_TOKEN").or_else(|| from_files("aws_session_token")),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .or_else(|| from_files("region")),
            endpoint: env("AWS_ENDPOINT_URL_S3")
                .or_else(|| env("AWS_ENDPOINT_URL"))
                .or_else(|| from_files("endpoint_url")),
        }
    }
}

/// The `key = value` pairs of `[section]` in an INI file (empty when unreadable).
fn ini_section(path: &Path, section: &str) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut inside = false;
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_their_section() {
        let dir = std::env::temp_dir().join(format!("brainbrr-ini-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("config");
        std::fs::write(
            &p,
            "[default]\nregion = eu-west-1\n# note\n[profile lab]\nregion=us-east-2\nendpoint_url = http://127.0.0.1:9000\n",
        )
        .expect("write");
        assert_eq!(ini_section(&p, "default")["region"], "eu-west-1");
        let lab = ini_section(&p, "profile lab");
        assert_eq!(lab["endpoint_url"], "http://127.0.0.1:9000");
        assert!(ini_section(&dir.join("missing"), "default").is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
