//! Frontends: readers of the files users train in Python.

pub mod keras;
