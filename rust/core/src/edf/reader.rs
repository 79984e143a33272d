//! A memory-mapped EDF/BDF file: samples are decoded straight from the mapping.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::annotations::{self, Annotation};
use super::error::{EdfError, EdfErrorKind};
use super::header::{Header, SignalHeader};

/// An output sample type for physical values.
pub trait Sample: Copy + Default + Send + Sync + 'static {
    /// Converts from the f64 the scaling is computed in.
    fn from_f64(v: f64) -> Self;
}

impl Sample for f64 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Sample for f32 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// Signals copied out of a file by [`Edf::extract_into`], still as their raw
/// bytes (2 per sample in EDF, 3 in BDF: a quarter or three eighths of the f64
/// they decode to). The ingest decodes a few at a time from here: decoding
/// them group after group from the file itself would walk the whole file once
/// per group.
#[derive(Debug, Default)]
pub struct RawSignals {
    bdf: bool,
    /// Each signal's bytes and `(gain, offset)`.
    signals: Vec<(Vec<u8>, (f64, f64))>,
}

impl RawSignals {
    /// Decodes extracted signal `k` (its position in the indices given to
    /// [`Edf::extract_into`]) to physical values into `out`. Returns false,
    /// decoding nothing, when `k` is out of range or `out` is not the signal's length.
    #[must_use]
    pub fn decode_into<T: Sample>(&self, k: usize, out: &mut [T]) -> bool {
        let width = if self.bdf { 3 } else { 2 };
        match self.signals.get(k) {
            Some((bytes, (gain, offset))) if bytes.len() == out.len() * width => {
                decode_bytes(self.bdf, bytes, out, *gain, *offset);
                true
            }
            _ => false,
        }
    }
}

/// A signal to read and its `(gain, offset)`.
type Scaled<'a> = (&'a SignalHeader, (f64, f64));

/// An open EDF, EDF+ or BDF file.
#[derive(Debug)]
pub struct Edf {
    path: PathBuf,
    map: Mmap,
    header: Header,
    n_records: usize,
    /// Indices into `header.signals` of the data (non-annotation) signals.
    data: Vec<usize>,
    annotations: Vec<Annotation>,
    record_onsets: Vec<f64>,
    warnings: Vec<String>,
}

impl Edf {
    /// Opens and memory-maps `path`, parses its header and its annotations.
    ///
    /// # Errors
    /// [`EdfError`] naming the file: I/O failures, a malformed header, or no
    /// complete data record.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EdfError> {
        let path = path.as_ref();
        let err = |kind: EdfErrorKind| EdfError::new(path, kind);
        let file = File::open(path).map_err(|e| err(e.into()))?;
        let len = file.metadata().map_err(|e| err(e.into()))?.len();
        if len < 256 {
            return Err(err(EdfErrorKind::TooShort { len }));
        }
        // SAFETY: the mapping is read-only; brainbrr never writes source files.
        // A file truncated by another process while mapped would fault (SIGBUS),
        // a risk every mmap reader (numpy.memmap included) shares.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| err(e.into()))?;
        let mut warnings = Vec::new();
        let header = Header::parse(&map, &mut warnings).map_err(err)?;
        let n_records = count_records(&header, map.len(), &mut warnings).map_err(err)?;
        let data = (0..header.signals.len())
            .filter(|&i| !header.signals[i].is_annotation)
            .collect();
        let mut edf = Self {
            path: path.to_owned(),
            map,
            header,
            n_records,
            data,
            annotations: Vec::new(),
            record_onsets: Vec::new(),
            warnings,
        };
        edf.read_annotations();
        Ok(edf)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of complete data records read (may differ from the declared count; see warnings).
    pub fn n_records(&self) -> usize {
        self.n_records
    }

    /// Number of data signals (annotation signals excluded).
    pub fn n_signals(&self) -> usize {
        self.data.len()
    }

    /// The header of data signal `i`.
    ///
    /// # Errors
    /// [`EdfErrorKind::SignalIndex`] when `i` is out of range.
    pub fn signal(&self, i: usize) -> Result<&SignalHeader, EdfError> {
        self.data
            .get(i)
            .map(|&j| &self.header.signals[j])
            .ok_or_else(|| {
                EdfError::new(
                    &self.path,
                    EdfErrorKind::SignalIndex {
                        index: i,
                        n_signals: self.data.len(),
                    },
                )
            })
    }

    /// Data signal headers, in file order.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = &SignalHeader> {
        self.data.iter().map(|&j| &self.header.signals[j])
    }

    /// Samples per second of data signal `i` (samples per record / record duration).
    pub fn sample_rate(&self, i: usize) -> Result<f64, EdfError> {
        Ok(self.signal(i)?.samples_per_record as f64 / self.header.record_duration)
    }

    /// Total samples of data signal `i`.
    pub fn n_samples(&self, i: usize) -> Result<usize, EdfError> {
        Ok(self.signal(i)?.samples_per_record * self.n_records)
    }

    /// Annotations from every `EDF Annotations` signal, in file order.
    pub fn annotations(&self) -> &[Annotation] {
        &self.annotations
    }

    /// Onset in seconds of each data record: from the time-keeping TALs in
    /// EDF+ files, else `record index x record duration`.
    pub fn record_onsets(&self) -> &[f64] {
        &self.record_onsets
    }

    /// What the reader tolerated in this file.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Lets the pages of `records` go from this process's memory once read, so
    /// that reading a file never holds all of it resident (the pages stay in
    /// the page cache and come back on the next access).
    fn release(&self, records: std::ops::Range<usize>) {
        #[cfg(unix)]
        if !records.is_empty() {
            let offset = self.header.header_bytes + records.start * self.header.record_bytes;
            let len = records.len() * self.header.record_bytes;
            // SAFETY: the map is a read-only mapping of a file: MADV_DONTNEED
            // only drops its page-table entries, and the next read of those
            // bytes maps the same file contents again. Errors only lose the hint.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
            };
        }
    }

    /// The bytes of signal `s` (index into all signals) in record `r`.
    fn bytes(&self, s: &SignalHeader, r: usize) -> &[u8] {
        let start = self.header.header_bytes + r * self.header.record_bytes + s.offset;
        &self.map[start..start + s.samples_per_record * self.header.kind.bytes_per_sample()]
    }

    /// Decodes data signal `i` to physical units into `out` (all records, file order).
    ///
    /// # Errors
    /// A bad index, a buffer whose length is not [`Edf::n_samples`], or a
    /// degenerate signal that has no physical scaling.
    pub fn read_physical_into<T: Sample>(&self, i: usize, out: &mut [T]) -> Result<(), EdfError> {
        self.read_many_into(&[i], &mut [out])
    }

    /// Decodes data signal `i` to physical units.
    ///
    /// # Errors
    /// As [`Edf::read_physical_into`].
    pub fn read_physical<T: Sample>(&self, i: usize) -> Result<Vec<T>, EdfError> {
        Ok(self.read_many(&[i])?.pop().unwrap_or_default())
    }

    /// Decodes several data signals in one pass over the records (cache
    /// friendly: each record is touched once).
    ///
    /// # Errors
    /// As [`Edf::read_physical_into`], for the first signal that fails.
    pub fn read_many<T: Sample>(&self, indices: &[usize]) -> Result<Vec<Vec<T>>, EdfError> {
        let mut out: Vec<Vec<T>> = indices
            .iter()
            .map(|&i| Ok(crate::mem::zeroed(self.n_samples(i)?)))
            .collect::<Result<_, EdfError>>()?;
        let mut slices: Vec<&mut [T]> = out.iter_mut().map(Vec::as_mut_slice).collect();
        self.read_many_into(indices, &mut slices)?;
        Ok(out)
    }

    /// Decodes several data signals into caller buffers, one pass over the records.
    ///
    /// # Errors
    /// As [`Edf::read_physical_into`].
    pub fn read_many_into<T: Sample>(
        &self,
        indices: &[usize],
        out: &mut [&mut [T]],
    ) -> Result<(), EdfError> {
        let plan = self.plan(indices)?;
        for ((s, _), o) in plan.iter().zip(out.iter()) {
            if o.len() != s.samples_per_record * self.n_records {
                return Err(EdfError::new(
                    &self.path,
                    EdfErrorKind::BufferLength {
                        label: s.label.clone(),
                        expected: s.samples_per_record * self.n_records,
                        got: o.len(),
                    },
                ));
            }
        }
        let bdf = self.is_bdf();
        self.walk(&plan, |k, r, src| {
            let n = plan[k].0.samples_per_record;
            let (gain, offset) = plan[k].1;
            decode_bytes(bdf, src, &mut out[k][r * n..(r + 1) * n], gain, offset);
        });
        Ok(())
    }

    /// Copies several data signals out of the file in one pass over the
    /// records, as their raw bytes, into `raw` (its buffers reused), to be
    /// decoded one at a time with [`RawSignals::decode_into`].
    ///
    /// # Errors
    /// As [`Edf::read_physical_into`].
    pub fn extract_into(&self, indices: &[usize], raw: &mut RawSignals) -> Result<(), EdfError> {
        let plan = self.plan(indices)?;
        let width = self.header.kind.bytes_per_sample();
        raw.bdf = self.is_bdf();
        raw.signals.resize_with(plan.len(), Default::default);
        for ((s, scaling), (bytes, dst)) in plan.iter().zip(&mut raw.signals) {
            let len = s.samples_per_record * self.n_records * width;
            if bytes.capacity() < len {
                *bytes = crate::mem::zeroed(len);
            }
            bytes.resize(len, 0);
            *dst = *scaling;
        }
        self.walk(&plan, |k, r, src| {
            let n = src.len();
            raw.signals[k].0[r * n..(r + 1) * n].copy_from_slice(src);
        });
        Ok(())
    }

    fn is_bdf(&self) -> bool {
        self.header.kind.bytes_per_sample() == 3
    }

    /// The headers and `(gain, offset)` of signals `indices`.
    fn plan(&self, indices: &[usize]) -> Result<Vec<Scaled<'_>>, EdfError> {
        indices
            .iter()
            .map(|&i| {
                let s = self.signal(i)?;
                let scaling = s.scaling().ok_or_else(|| {
                    EdfError::new(
                        &self.path,
                        EdfErrorKind::Degenerate {
                            label: s.label.clone(),
                            reason: s.degenerate.clone().unwrap_or_default(),
                        },
                    )
                })?;
                Ok((s, scaling))
            })
            .collect()
    }

    /// Calls `visit(k, r, bytes)` with the bytes of signal `plan[k]` in record
    /// `r`, record after record: each record is touched once, the next ones'
    /// bytes are prefetched, and the pages of records done are let go.
    fn walk(
        &self,
        plan: &[(&SignalHeader, (f64, f64))],
        mut visit: impl FnMut(usize, usize, &[u8]),
    ) {
        let per_release = (RELEASE_BYTES / self.header.record_bytes.max(1)).max(1);
        for r in 0..self.n_records {
            if r > 0 && r % per_release == 0 {
                self.release(r - per_release..r);
            }
            if r + AHEAD < self.n_records {
                for (s, _) in plan {
                    prefetch(self.bytes(s, r + AHEAD));
                }
            }
            for (k, (s, _)) in plan.iter().enumerate() {
                visit(k, r, self.bytes(s, r));
            }
        }
        self.release(self.n_records.saturating_sub(per_release)..self.n_records);
    }

    /// The raw digital values of data signal `i`, as written in the file.
    ///
    /// # Errors
    /// A bad index.
    pub fn read_digital(&self, i: usize) -> Result<Vec<i32>, EdfError> {
        let s = self.signal(i)?;
        let mut out = Vec::with_capacity(s.samples_per_record * self.n_records);
        let bdf = self.header.kind.bytes_per_sample() == 3;
        for r in 0..self.n_records {
            let src = self.bytes(s, r);
            if bdf {
                out.extend(
                    src.chunks_exact(3)
                        .map(|c| i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8),
                );
            } else {
                out.extend(
                    src.chunks_exact(2)
                        .map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))),
                );
            }
        }
        Ok(out)
    }

    fn read_annotations(&mut self) {
        let tal_signals: Vec<&SignalHeader> = self
            .header
            .signals
            .iter()
            .filter(|s| s.is_annotation)
            .collect();
        let duration = self.header.record_duration;
        let mut onsets = Vec::with_capacity(self.n_records);
        let mut annotations = Vec::new();
        let mut warnings = Vec::new();
        let mut missing = 0usize;
        for r in 0..self.n_records {
            let mut onset = None;
            for s in &tal_signals {
                let o =
                    annotations::parse_record(self.bytes(s, r), &mut annotations, &mut warnings);
                onset = onset.or(o);
            }
            // Plain EDF has no time-keeping TAL: records are back to back.
            let fallback = onsets.last().map_or(0.0, |&p: &f64| p + duration);
            if onset.is_none() && self.header.kind.is_plus() && !tal_signals.is_empty() {
                missing += 1;
            }
            onsets.push(onset.unwrap_or(fallback));
        }
        if missing > 0 {
            warnings.push(format!("{missing} records lack a time-keeping annotation; their onsets assume contiguous records"));
        }
        if self.header.kind.is_discontinuous() {
            if tal_signals.is_empty() {
                warnings.push(format!(
                    "{} without an annotation signal: records taken as contiguous",
                    self.header.kind
                ));
            }
            let gaps = onsets
                .windows(2)
                .filter(|w| w[1] - w[0] > duration + 1e-6)
                .count();
            if gaps > 0 {
                warnings.push(format!("{gaps} gaps between records: samples are concatenated in file order; record_onsets places them in time"));
            }
        }
        self.record_onsets = onsets;
        self.annotations = annotations;
        self.warnings.extend(warnings);
    }
}

/// Decodes `N`-byte little-endian samples; the closure is inlined so the loop vectorises.
#[inline(always)]
/// Decodes little-endian EDF (2-byte) or BDF (3-byte) samples to physical values.
fn decode_bytes<T: Sample>(bdf: bool, src: &[u8], dst: &mut [T], gain: f64, offset: f64) {
    if bdf {
        decode(src.as_chunks::<3>().0, dst, gain, offset, |c| {
            f64::from(i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8)
        });
    } else {
        decode(src.as_chunks::<2>().0, dst, gain, offset, |c| {
            f64::from(i16::from_le_bytes(*c))
        });
    }
}

fn decode<T: Sample, const N: usize>(
    src: &[[u8; N]],
    dst: &mut [T],
    gain: f64,
    offset: f64,
    digital: impl Fn(&[u8; N]) -> f64,
) {
    for (d, c) in dst.iter_mut().zip(src) {
        *d = T::from_f64(digital(c) * gain + offset);
    }
}

/// How many complete records the file holds, reconciled with the declared count.
fn count_records(
    h: &Header,
    file_len: usize,
    warnings: &mut Vec<String>,
) -> Result<usize, EdfErrorKind> {
    if h.record_bytes == 0 {
        return Err(EdfErrorKind::NoData(
            "every signal has 0 samples per record".into(),
        ));
    }
    let data_len = file_len - h.header_bytes;
    let (complete, extra) = (data_len / h.record_bytes, data_len % h.record_bytes);
    let n = match usize::try_from(h.declared_records) {
        Err(_) => {
            warnings.push(format!(
                "record count is -1; {complete} records inferred from the file size"
            ));
            complete
        }
        Ok(declared) if declared > complete => {
            warnings.push(format!("header declares {declared} records but the file holds {complete} complete ones: file truncated"));
            complete
        }
        Ok(declared) => declared,
    };
    let trailing = data_len - n * h.record_bytes;
    if trailing > 0 {
        let what = if extra > 0 && n == complete {
            "a partial record"
        } else {
            "bytes"
        };
        warnings.push(format!(
            "{trailing} bytes after the last record ignored ({what})"
        ));
    }
    if n == 0 {
        return Err(EdfErrorKind::NoData(format!(
            "{data_len} bytes of data, a record needs {}",
            h.record_bytes
        )));
    }
    Ok(n)
}

/// Bytes of records decoded between two releases of their pages.
const RELEASE_BYTES: usize = 4 << 20;

/// Records ahead of the one decoded whose bytes are prefetched.
const AHEAD: usize = 2;

/// Asks the CPU to start loading `bytes` into cache. Reading a few signals
/// takes short runs of bytes far apart in the file, which the hardware
/// prefetcher does not follow: the loads waited on memory.
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint that never faults; SSE is baseline on x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
