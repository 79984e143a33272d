//! Object storage (Amazon S3 and S3-compatible servers) through the maintained
//! `object_store` client: `s3://bucket/prefix` URLs ([`url`]), a client
//! for one bucket ([`bucket`]) configured the way the AWS tools are
//! ([`aws_config`]), and the I/O runtime its transfers run on.

mod aws_config;
mod bucket;
mod error;
#[cfg(test)]
pub(crate) mod memory;
mod runtime;
mod url;

pub use bucket::{Bucket, Check, Listing, Object};
pub use error::RemoteError;
pub(crate) use runtime::runtime;
pub use url::{Url, is_plain_segment, is_url};
