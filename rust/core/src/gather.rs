//! Batch gather: copy B windows `[C, T]` out of `[C, n]` row-major recordings
//! into one contiguous `[B, C, T]` buffer, in parallel.
//!
//! This is the reader's hot path: the buffer is usually pinned host memory that
//! is then copied to the GPU, so the gather writes straight into the caller's
//! memory and allocates nothing per window. Sources are the chunk files of a
//! store ([`Gatherer`], the store is little-endian like every host brainbrr
//! builds for) or plain slices ([`gather_windows`]).
//!
//! A [`Gatherer`] reads its files one of two ways ([`Io`]): positional reads
//! (`pread`, one per channel row of a window, straight into the output), or
//! copies out of memory maps. Reads cost the same on every epoch; a map is as
//! fast once every page of it is mapped, but its first touch of each 4 KiB page
//! is a page fault, so an epoch over pages not yet mapped (the first one, and
//! every one when the store is larger than RAM) runs at a fraction of the
//! speed. `bench/bench_loader.py` measures both.
//!
//! Every window is bounds-checked before anything is copied, so a bad offset
//! is an error and leaves the output untouched.
//!
//! Fork safety: rayon's worker threads do not exist in a forked child (torch
//! DataLoader workers under `fork`), and a pool inherited through a fork
//! deadlocks on first use. [`Gatherer`] builds its pool on first use and
//! records the process id; in another process it leaks the stale pool (its
//! threads, locks and queues are gone or copied mid-state, so even dropping it
//! is unsafe) and builds a fresh one.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use memmap2::Mmap;
use rayon::ThreadPool;
use rayon::prelude::*;

/// Environment variable that sizes the gather pool when no explicit size is given.
pub const THREADS_ENV: &str = "BRAINBRR_GATHER_THREADS";

/// Default pool size cap: a gather is a memory copy, and a few threads already
/// saturate memory bandwidth; more only compete with the training process.
const DEFAULT_MAX_THREADS: usize = 8;

/// Why a gather could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatherError {
    /// A chunk file could not be opened or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The chunk file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A source does not hold `n_channels * n_samples` samples.
    #[error(
        "{what}: {actual} bytes, expected {expected} ({n_channels} channels x {n_samples} samples)"
    )]
    SourceSize {
        /// The chunk file or source index.
        what: String,
        /// Bytes found.
        actual: usize,
        /// Bytes the shape needs.
        expected: usize,
        /// Channels announced.
        n_channels: usize,
        /// Samples per channel announced.
        n_samples: usize,
    },
    /// Window `item` names a recording that does not exist.
    #[error("window {item}: recording {recording} out of range (0..{n_recordings})")]
    BadRecording {
        /// Position in the batch.
        item: usize,
        /// The recording asked for.
        recording: i64,
        /// How many recordings there are.
        n_recordings: usize,
    },
    /// Window `item` does not lie inside its recording.
    #[error(
        "window {item}: samples {start}..{start}+{window} outside recording {recording} (0..{n_samples})"
    )]
    OutOfBounds {
        /// Position in the batch.
        item: usize,
        /// The recording.
        recording: usize,
        /// First sample asked for.
        start: i64,
        /// Window length in samples.
        window: usize,
        /// Length of the recording.
        n_samples: usize,
    },
    /// The arguments disagree on the batch shape.
    #[error("batch shape: {reason}")]
    Shape {
        /// What disagrees.
        reason: String,
    },
    /// The output element type is not the store's sample type.
    #[error("output holds {found}-byte samples, the store holds {expected}-byte samples")]
    SampleType {
        /// Bytes per sample of the store.
        expected: usize,
        /// Bytes per sample of the output.
        found: usize,
    },
    /// The thread pool could not be started.
    #[error("cannot start {threads} gather threads: {reason}")]
    Pool {
        /// Threads asked for.
        threads: usize,
        /// rayon's message.
        reason: String,
    },
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u16 {}
}

/// A sample type a store holds: `f32`, or `u16` carrying float16 bits (copied,
/// never converted). Sealed: both have no invalid bit patterns, which the
/// memory-map reinterpretation relies on.
pub trait Sample: Copy + Send + Sync + sealed::Sealed + 'static {}
impl Sample for f32 {}
impl Sample for u16 {}

/// One `[n_channels, n_samples]` row-major recording.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a, T> {
    data: &'a [T],
    n_samples: usize,
}

impl<'a, T: Sample> Source<'a, T> {
    /// A source over `data`, checked to hold `n_channels * n_samples` samples.
    ///
    /// # Errors
    /// [`GatherError::SourceSize`] when the length does not match the shape.
    pub fn new(data: &'a [T], n_channels: usize, n_samples: usize) -> Result<Self, GatherError> {
        if Some(data.len()) != n_channels.checked_mul(n_samples) {
            let size = size_of::<T>();
            return Err(GatherError::SourceSize {
                what: "slice".to_owned(),
                actual: size_of_val(data),
                expected: n_channels.saturating_mul(n_samples).saturating_mul(size),
                n_channels,
                n_samples,
            });
        }
        Ok(Self { data, n_samples })
    }
}

/// Copy windows `(recordings[b], starts[b])` of `window` samples from
/// `sources` into `out`, `[B, n_channels, window]` row-major, on `pool`.
///
/// # Errors
/// [`GatherError::Shape`] when `out` is not `B * n_channels * window` long or
/// the two index slices differ in length; [`GatherError::BadRecording`] and
/// [`GatherError::OutOfBounds`] for a window outside the sources (checked
/// before anything is written).
pub fn gather_windows<T: Sample>(
    pool: &ThreadPool,
    sources: &[Source<'_, T>],
    n_channels: usize,
    recordings: &[i64],
    starts: &[i64],
    window: usize,
    out: &mut [T],
) -> Result<(), GatherError> {
    let items = check_windows(
        recordings,
        starts,
        window,
        n_channels,
        out.len(),
        sources.len(),
        |r| sources.get(r).map(|s| s.n_samples),
    )?;
    copy_windows(pool, &items, |r| sources[r].data, n_channels, window, out);
    Ok(())
}

/// Validate every window, returning `(recording, start)` as indices.
fn check_windows(
    recordings: &[i64],
    starts: &[i64],
    window: usize,
    n_channels: usize,
    out_len: usize,
    n_recordings: usize,
    n_samples: impl Fn(usize) -> Option<usize>,
) -> Result<Vec<(usize, usize)>, GatherError> {
    if recordings.len() != starts.len() {
        return Err(GatherError::Shape {
            reason: format!(
                "{} recordings but {} starts",
                recordings.len(),
                starts.len()
            ),
        });
    }
    let want = recordings
        .len()
        .checked_mul(n_channels)
        .and_then(|x| x.checked_mul(window));
    if want != Some(out_len) {
        return Err(GatherError::Shape {
            reason: format!(
                "output holds {out_len} samples, {} windows x {n_channels} channels x {window} need {}",
                recordings.len(),
                want.map_or_else(|| "overflow".to_owned(), |w| w.to_string())
            ),
        });
    }
    recordings
        .iter()
        .zip(starts)
        .enumerate()
        .map(|(item, (&rec, &start))| {
            let n = usize::try_from(rec).ok().and_then(&n_samples);
            let (Ok(r), Some(n)) = (usize::try_from(rec), n) else {
                return Err(GatherError::BadRecording {
                    item,
                    recording: rec,
                    n_recordings,
                });
            };
            match usize::try_from(start) {
                Ok(s) if s.checked_add(window).is_some_and(|end| end <= n) => Ok((r, s)),
                _ => Err(GatherError::OutOfBounds {
                    item,
                    recording: r,
                    start,
                    window,
                    n_samples: n,
                }),
            }
        })
        .collect()
}

/// The copy itself, for windows already checked against their sources.
fn copy_windows<'s, T: Sample>(
    pool: &ThreadPool,
    items: &[(usize, usize)],
    data: impl Fn(usize) -> &'s [T] + Sync,
    n_channels: usize,
    window: usize,
    out: &mut [T],
) {
    let per_item = n_channels * window;
    if per_item == 0 {
        return;
    }
    pool.install(|| {
        out.par_chunks_mut(per_item)
            .zip(items.par_iter())
            .for_each(|(dst, &(r, start))| {
                let src = data(r);
                let n = src.len() / n_channels;
                for (c, row) in dst.chunks_exact_mut(window).enumerate() {
                    let from = c * n + start;
                    row.copy_from_slice(&src[from..from + window]);
                }
            });
    });
}

/// The pool size for `threads` (0: [`THREADS_ENV`], else the cores up to a cap).
fn pool_size(threads: usize) -> usize {
    if threads > 0 {
        return threads;
    }
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(DEFAULT_MAX_THREADS))
        })
}

/// How a [`Gatherer`] reads its chunk files (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Io {
    /// `pread` each row of each window into the output.
    #[default]
    Read,
    /// Copy out of a memory map of each file.
    Map,
}

/// The signal chunk files of a store, and a gather pool built in the process
/// that uses it. Files are opened (or mapped) on first use, so opening a
/// gatherer over thousands of recordings costs nothing.
#[derive(Debug)]
pub struct Gatherer {
    paths: Vec<PathBuf>,
    n_samples: Vec<usize>,
    n_channels: usize,
    sample_size: usize,
    io: Io,
    maps: Vec<OnceLock<Mmap>>,
    files: Vec<OnceLock<File>>,
    threads: usize,
    pool: Mutex<Option<(u32, Arc<ThreadPool>)>>,
}

impl Gatherer {
    /// A gatherer over recordings `i` stored in `paths[i]`, each `[n_channels,
    /// n_samples[i]]` samples of `sample_size` bytes (4: float32, 2: float16),
    /// with a pool of `threads` (0: see [`THREADS_ENV`]).
    ///
    /// # Errors
    /// [`GatherError::Shape`] when `paths` and `n_samples` differ in length or
    /// the sample size is not 2 or 4.
    pub fn new(
        paths: Vec<PathBuf>,
        n_samples: Vec<usize>,
        n_channels: usize,
        sample_size: usize,
        threads: usize,
    ) -> Result<Self, GatherError> {
        if paths.len() != n_samples.len() {
            return Err(GatherError::Shape {
                reason: format!("{} paths but {} lengths", paths.len(), n_samples.len()),
            });
        }
        if sample_size != 2 && sample_size != 4 {
            return Err(GatherError::Shape {
                reason: format!("sample size {sample_size} bytes (float16: 2, float32: 4)"),
            });
        }
        let maps = paths.iter().map(|_| OnceLock::new()).collect();
        let files = paths.iter().map(|_| OnceLock::new()).collect();
        Ok(Self {
            paths,
            n_samples,
            n_channels,
            sample_size,
            io: Io::default(),
            maps,
            files,
            threads,
            pool: Mutex::new(None),
        })
    }

    /// Read the files with `io` (default [`Io::Read`]).
    #[must_use]
    pub fn with_io(mut self, io: Io) -> Self {
        self.io = io;
        self
    }

    /// Recording `r`'s file, opened on first use and checked to hold its
    /// samples (and at most a checksum after them).
    fn file(&self, r: usize) -> Result<&File, GatherError> {
        if let Some(file) = self.files[r].get() {
            return Ok(file);
        }
        let path = &self.paths[r];
        let io = |source| GatherError::Io {
            path: path.clone(),
            source,
        };
        let file = crate::nofollow::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let expected = self.n_channels * self.n_samples[r] * self.sample_size;
        if len != expected as u64 && len != (expected + crate::store::CRC_LEN) as u64 {
            return Err(GatherError::SourceSize {
                what: path.display().to_string(),
                actual: usize::try_from(len).unwrap_or(usize::MAX),
                expected,
                n_channels: self.n_channels,
                n_samples: self.n_samples[r],
            });
        }
        // Another thread may have opened it meanwhile; either handle is fine.
        let _ = self.files[r].set(file);
        self.files[r].get().ok_or_else(|| GatherError::Shape {
            reason: format!("{}: file handle lost", path.display()),
        })
    }

    /// Number of recordings.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there are no recordings.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The pool of this process, built on first use and after a fork.
    fn pool(&self) -> Result<Arc<ThreadPool>, GatherError> {
        let pid = std::process::id();
        let mut slot = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((owner, pool)) = slot.as_ref()
            && *owner == pid
        {
            return Ok(pool.clone());
        }
        if let Some(stale) = slot.take() {
            // Built in the parent: its threads do not exist here (see the module doc).
            std::mem::forget(stale);
        }
        let threads = pool_size(self.threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("brainbrr-gather-{i}"))
            .build()
            .map_err(|e| GatherError::Pool {
                threads,
                reason: e.to_string(),
            })?;
        let pool = Arc::new(pool);
        *slot = Some((pid, pool.clone()));
        Ok(pool)
    }

    /// The samples of recording `r`, mapping its file on first use.
    fn map<T: Sample>(&self, r: usize) -> Result<&[T], GatherError> {
        let map = match self.maps[r].get() {
            Some(map) => map,
            None => {
                let path = &self.paths[r];
                let io = |source| GatherError::Io {
                    path: path.clone(),
                    source,
                };
                let file = crate::nofollow::open(path).map_err(io)?;
                // SAFETY: read-only mapping of a committed chunk file, which the
                // store never rewrites in place (a re-ingest renames a new group
                // over it). A file truncated by another process while mapped
                // would fault, a risk every mmap reader (numpy.memmap) shares.
                let map = unsafe { Mmap::map(&file) }.map_err(io)?;
                // Fill the page tables in one call (pages already in the page
                // cache; the others are read ahead): a fault per 4 KiB page on
                // first touch is what makes a first epoch slower than later ones.
                // Best effort: older kernels (before 5.14) refuse the advice.
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::PopulateRead);
                // Another thread may have mapped it meanwhile; either map is fine.
                let _ = self.maps[r].set(map);
                self.maps[r].get().ok_or_else(|| GatherError::Shape {
                    reason: format!("{}: mapping lost", path.display()),
                })?
            }
        };
        let expected = self.n_channels * self.n_samples[r] * size_of::<T>();
        // A chunk may end with the crc32c codec's checksum, after the samples.
        let data = match map.len() {
            n if n == expected || n == expected + crate::store::CRC_LEN => &map[..expected],
            _ => &map[..],
        };
        // SAFETY: `T` is f32 or u16 (sealed), for which every bit pattern is
        // valid; `align_to` only returns an aligned middle part, checked below
        // to cover the whole (page-aligned) mapping.
        let (head, samples, tail) = unsafe { data.align_to::<T>() };
        if !head.is_empty() || !tail.is_empty() || data.len() != expected {
            return Err(GatherError::SourceSize {
                what: self.paths[r].display().to_string(),
                actual: map.len(),
                expected,
                n_channels: self.n_channels,
                n_samples: self.n_samples[r],
            });
        }
        Ok(samples)
    }

    /// Copy windows `(recordings[b], starts[b])` of `window` samples into
    /// `out`, `[B, n_channels, window]` row-major.
    ///
    /// # Errors
    /// As [`gather_windows`]; also [`GatherError::SampleType`] when `T` is not
    /// the store's sample type, [`GatherError::Io`] and
    /// [`GatherError::SourceSize`] for a chunk file that cannot be mapped or
    /// has the wrong size, [`GatherError::Pool`].
    pub fn gather<T: Sample>(
        &self,
        recordings: &[i64],
        starts: &[i64],
        window: usize,
        out: &mut [T],
    ) -> Result<(), GatherError> {
        if size_of::<T>() != self.sample_size {
            return Err(GatherError::SampleType {
                expected: self.sample_size,
                found: size_of::<T>(),
            });
        }
        let items = check_windows(
            recordings,
            starts,
            window,
            self.n_channels,
            out.len(),
            self.len(),
            |r| self.n_samples.get(r).copied(),
        )?;
        if out.is_empty() {
            return Ok(());
        }
        let pool = self.pool()?;
        if self.io == Io::Read {
            return self.read_windows(&pool, &items, window, out);
        }
        // Map every file the batch touches first (in parallel: opening is a
        // syscall each), so the copy itself cannot fail halfway; windows then
        // refer to their recording's position in `used`.
        let mut used: Vec<usize> = items.iter().map(|&(r, _)| r).collect();
        used.sort_unstable();
        used.dedup();
        let slices: Vec<&[T]> = pool.install(|| {
            used.par_iter()
                .map(|&r| self.map::<T>(r))
                .collect::<Result<_, _>>()
        })?;
        let items: Vec<(usize, usize)> = items
            .iter()
            .map(|&(r, s)| (used.partition_point(|&u| u < r), s))
            .collect();
        copy_windows(&pool, &items, |p| slices[p], self.n_channels, window, out);
        Ok(())
    }

    /// [`Io::Read`]: each window's rows read at their offsets straight into
    /// `out`, windows in parallel on the pool (several reads in flight when the
    /// pages are not in the page cache).
    fn read_windows<T: Sample>(
        &self,
        pool: &ThreadPool,
        items: &[(usize, usize)],
        window: usize,
        out: &mut [T],
    ) -> Result<(), GatherError> {
        use std::os::unix::fs::FileExt;
        let per_item = self.n_channels * window;
        let size = size_of::<T>();
        // Open every file first, so that only a read error can stop the copy halfway.
        let mut used: Vec<usize> = items.iter().map(|&(r, _)| r).collect();
        used.sort_unstable();
        used.dedup();
        pool.install(|| used.par_iter().try_for_each(|&r| self.file(r).map(drop)))?;
        pool.install(|| {
            out.par_chunks_mut(per_item)
                .zip(items.par_iter())
                .try_for_each(|(dst, &(r, start))| {
                    let file = self.file(r)?;
                    let n = self.n_samples[r];
                    for (c, row) in dst.chunks_exact_mut(window).enumerate() {
                        // SAFETY: `T` is f32 or u16 (sealed): every byte pattern
                        // read into it is a valid value, and u8 needs no alignment.
                        let bytes = unsafe {
                            std::slice::from_raw_parts_mut(
                                row.as_mut_ptr().cast::<u8>(),
                                size_of_val(row),
                            )
                        };
                        let offset = ((c * n + start) * size) as u64;
                        file.read_exact_at(bytes, offset)
                            .map_err(|source| GatherError::Io {
                                path: self.paths[r].clone(),
                                source,
                            })?;
                    }
                    Ok(())
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn pool() -> ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `[c, n]` recording whose sample (ch, t) is `r * 1e6 + ch * 1e3 + t`.
    fn recording(r: usize, c: usize, n: usize) -> Vec<f32> {
        (0..c * n)
            .map(|i| (r * 1_000_000 + (i / n) * 1000 + i % n) as f32)
            .collect()
    }

    /// The expected batch, built naively.
    fn naive(recs: &[Vec<f32>], c: usize, items: &[(i64, i64)], t: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for &(r, s) in items {
            let src = &recs[r as usize];
            let n = src.len() / c;
            for ch in 0..c {
                let from = ch * n + s as usize;
                out.extend_from_slice(&src[from..from + t]);
            }
        }
        out
    }

    #[test]
    fn slices_gather_like_the_naive_copy() -> Result<(), GatherError> {
        let (c, t) = (3, 7);
        let recs: Vec<Vec<f32>> = [20, 7, 50]
            .iter()
            .enumerate()
            .map(|(r, &n)| recording(r, c, n))
            .collect();
        let sources = recs
            .iter()
            .map(|x| Source::new(x, c, x.len() / c))
            .collect::<Result<Vec<_>, _>>()?;
        let items = [(0, 0), (2, 43), (1, 0), (0, 13), (2, 5), (2, 5)];
        let (rs, ss): (Vec<i64>, Vec<i64>) = items.iter().copied().unzip();
        let mut out = vec![f32::NAN; items.len() * c * t];
        gather_windows(&pool(), &sources, c, &rs, &ss, t, &mut out)?;
        assert_eq!(out, naive(&recs, c, &items, t));
        Ok(())
    }

    #[test]
    fn bad_windows_are_typed_errors_and_leave_out_untouched() -> Result<(), GatherError> {
        let c = 2;
        let data = recording(0, c, 10);
        let sources = [Source::new(&data, c, 10)?];
        let mut out = vec![-1.0f32; 2 * c * 4];
        let p = pool();
        let run = |rs: &[i64], ss: &[i64], t: usize, out: &mut [f32]| {
            gather_windows(&p, &sources, c, rs, ss, t, out)
        };
        assert!(matches!(
            run(&[0, 0], &[0, 7], 4, &mut out),
            Err(GatherError::OutOfBounds {
                item: 1,
                start: 7,
                n_samples: 10,
                ..
            })
        ));
        assert!(matches!(
            run(&[0, 0], &[-1, 0], 4, &mut out),
            Err(GatherError::OutOfBounds { .. })
        ));
        assert!(matches!(
            run(&[0, 1], &[0, 0], 4, &mut out),
            Err(GatherError::BadRecording {
                item: 1,
                recording: 1,
                n_recordings: 1
            })
        ));
        assert!(matches!(
            run(&[-3, 0], &[0, 0], 4, &mut out),
            Err(GatherError::BadRecording { .. })
        ));
        assert!(matches!(
            run(&[0, 0], &[0, i64::MAX], 4, &mut out),
            Err(GatherError::OutOfBounds { .. })
        ));
        assert!(matches!(
            run(&[0], &[0, 0], 4, &mut out),
            Err(GatherError::Shape { .. })
        ));
        assert!(matches!(
            run(&[0, 0], &[0, 0], 3, &mut out),
            Err(GatherError::Shape { .. })
        ));
        assert!(out.iter().all(|&x| x == -1.0));
        run(&[0, 0], &[6, 0], 4, &mut out)?;
        assert_eq!(
            out,
            naive(std::slice::from_ref(&data), c, &[(0, 6), (0, 0)], 4)
        );
        run(&[], &[], 4, &mut [])?;
        assert!(matches!(
            Source::new(&data, 3, 10),
            Err(GatherError::SourceSize { .. })
        ));
        Ok(())
    }

    fn write_chunks(dir: &std::path::Path, recs: &[Vec<u8>]) -> Vec<PathBuf> {
        recs.iter()
            .enumerate()
            .map(|(i, bytes)| {
                let path = dir.join(format!("r{i}"));
                let mut f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
                f.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
                path
            })
            .collect()
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("brainbrr-gather-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    #[test]
    fn gatherer_reads_mapped_files() -> Result<(), GatherError> {
        let dir = tempdir("f32");
        let (c, t) = (4, 16);
        let lens = [100usize, 40, 0, 64];
        let recs: Vec<Vec<f32>> = lens
            .iter()
            .enumerate()
            .map(|(r, &n)| recording(r, c, n))
            .collect();
        let bytes: Vec<Vec<u8>> = recs
            .iter()
            .map(|x| x.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let mut paths = write_chunks(&dir, &bytes);
        // An empty recording has no chunk file; it must never be opened.
        std::fs::remove_file(&paths[2]).unwrap_or_else(|e| panic!("{e}"));
        paths[2] = dir.join("absent");
        let g = Gatherer::new(paths, lens.to_vec(), c, 4, 2)?;
        let items = [(3, 48), (0, 0), (1, 24), (0, 84), (3, 0)];
        let (rs, ss): (Vec<i64>, Vec<i64>) = items.iter().copied().unzip();
        let mut out = vec![0f32; items.len() * c * t];
        g.gather(&rs, &ss, t, &mut out)?;
        assert_eq!(out, naive(&recs, c, &items, t));
        assert!(matches!(
            g.gather(&[2], &[0], t, &mut out[..c * t]),
            Err(GatherError::OutOfBounds { .. })
        ));
        let mut half = vec![0u16; c * t];
        assert!(matches!(
            g.gather(&[0], &[0], t, &mut half),
            Err(GatherError::SampleType { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn gatherer_copies_float16_bits_and_checks_file_sizes() -> Result<(), GatherError> {
        let dir = tempdir("f16");
        let c = 2;
        let bits: Vec<u16> = (0..c as u16 * 30).map(|i| i.wrapping_mul(2654)).collect();
        let bytes = bits
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>();
        let short = bytes[..bytes.len() - 2].to_vec();
        let paths = write_chunks(&dir, &[bytes, short]);
        let g = Gatherer::new(paths, vec![30, 30], c, 2, 1)?;
        let mut out = vec![0u16; c * 5];
        g.gather(&[0], &[10], 5, &mut out)?;
        assert_eq!(&out[..5], &bits[10..15]);
        assert_eq!(&out[5..], &bits[40..45]);
        assert!(matches!(
            g.gather(&[1], &[0], 5, &mut out),
            Err(GatherError::SourceSize { .. })
        ));
        assert!(matches!(
            Gatherer::new(vec![], vec![1], c, 2, 1),
            Err(GatherError::Shape { .. })
        ));
        assert!(matches!(
            Gatherer::new(vec![], vec![], c, 8, 1),
            Err(GatherError::Shape { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn pool_is_reused_within_a_process() -> Result<(), GatherError> {
        let g = Gatherer::new(vec![], vec![], 1, 4, 2)?;
        let (a, b) = (g.pool()?, g.pool()?);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 2);
        assert!(pool_size(0) >= 1);
        Ok(())
    }
}
