//! The preprocessing configuration (work in progress).
