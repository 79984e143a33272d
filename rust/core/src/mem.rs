//! Large sample buffers backed by transparent huge pages.
//!
//! Decoding a one-hour recording writes ~200 MB of fresh memory. With 4 KiB
//! pages the page faults cost more than the decoding itself (measured: 110 ms
//! of faults against 20 ms of decoding for 223 MB on the development VM);
//! 2 MiB pages cut the faults 512-fold. numpy asks for huge pages the same way.

/// Longest channel (samples) whose buffers a thread keeps for its next call:
/// reuse saves page faults, but a thread that once met a 24-hour recording
/// should not hold gigabytes for the rest of the process.
pub const KEEP_SAMPLES: usize = 4 << 20;

/// A zero-filled vector of `n` elements whose memory is advised to use huge pages.
pub fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge(v.as_mut_ptr().cast(), n * size_of::<T>());
    v.resize(n, T::default());
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    // Only whole 2 MiB extents inside the allocation can be huge pages.
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + len) / HUGE * HUGE;
    if end > start {
        // SAFETY: [start, end) lies inside the allocation just reserved; the
        // advice changes how pages are backed, never their contents. A refusal
        // (e.g. THP disabled) only loses the speed-up, so its result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroed_is_zero_and_sized() {
        for n in [0, 1, 1000, 3 << 20] {
            let v = super::zeroed::<f64>(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
        }
    }
}
