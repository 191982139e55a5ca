//! Partitioning.
