//! Buckets in memory for the tests: `object_store`'s `InMemory` store, which
//! keeps entity tags and honours conditional writes (`If-None-Match: *`,
//! `If-Match`) as S3 does. It has no paginated listing, so [`Pages`] lists it
//! page by page after a key as S3's `ListObjectsV2` does, and refuses a page
//! holding a key with an empty, `.` or `..` segment as the S3 client does (it
//! parses each key of a page; `InMemory` cannot hold such a key, so the odd
//! keys are listed from [`Pages::odd`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::memory::InMemory;
use object_store::path::Path as Key;
use object_store::{ListResult, ObjectMeta};

use super::{Bucket, Url};

/// A bucket for `url` in a new, empty in-memory store, and the store.
pub(crate) fn bucket(url: &str) -> (Bucket, Arc<InMemory>) {
    bucket_with_odd(url, &[])
}

/// As [`bucket`], with keys that name no file listed among the objects.
pub(crate) fn bucket_with_odd(url: &str, odd: &[&str]) -> (Bucket, Arc<InMemory>) {
    let url = Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(InMemory::new());
    let pages = Pages {
        store: store.clone(),
        odd: odd.iter().map(|k| (*k).to_owned()).collect(),
    };
    (Bucket::new(&url, store.clone(), Arc::new(pages)), store)
}

/// The paginated listing of an in-memory store, as S3 serves it.
struct Pages {
    store: Arc<InMemory>,
    /// Keys S3 may hold but a `Path` cannot.
    odd: Vec<String>,
}

type Page<'a> =
    Pin<Box<dyn Future<Output = object_store::Result<PaginatedListResult>> + Send + 'a>>;

impl PaginatedListStore for Pages {
    fn list_paginated<'s, 'p, 'a>(
        &'s self,
        prefix: Option<&'p str>,
        opts: PaginatedListOptions,
    ) -> Page<'a>
    where
        's: 'a,
        'p: 'a,
    {
        Box::pin(async move {
            let stored: Vec<ObjectMeta> = self.store.list(None).try_collect().await?;
            let mut keys: Vec<(String, Option<ObjectMeta>)> = stored
                .into_iter()
                .map(|m| (m.location.to_string(), Some(m)))
                .chain(self.odd.iter().map(|k| (k.clone(), None)))
                .filter(|(k, _)| {
                    k.starts_with(prefix.unwrap_or(""))
                        && opts.offset.as_ref().is_none_or(|after| k > after)
                })
                .collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            let max = opts.max_keys.unwrap_or(1000);
            let more = keys.len() > max;
            keys.truncate(max);
            let page_token = more.then(|| keys.last().map(|(k, _)| k.clone())).flatten();
            let mut objects = Vec::new();
            for (key, meta) in keys {
                // The client's own parse of each key of a page.
                Key::parse(&key)?;
                objects.extend(meta);
            }
            Ok(PaginatedListResult {
                result: ListResult {
                    common_prefixes: Vec::new(),
                    objects,
                },
                page_token,
            })
        })
    }
}
