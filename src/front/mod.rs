//! Frontends: readers of the files users train in Python.

pub mod keras;
pub mod pickle;
pub mod sklearn;
