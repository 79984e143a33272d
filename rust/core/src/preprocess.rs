//! The preprocessing pipeline (work in progress).
