//! End-to-end tests: every test drives the real `coord` binary in its own temporary directory.

mod suite;
