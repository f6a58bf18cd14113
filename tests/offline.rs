//! The checks that need nothing but the source tree: a plain `cargo test` in a fresh clone runs
//! them with the unit tests (the integration tests, which need servers and tools, are
//! `tests/tests.rs`, behind `--features online-tests`).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// The tests make and plant files as they like; src/ writes through its own toolkit.
#![allow(clippy::disallowed_methods)]
// A test crate reaches nothing from outside: `pub` here says "for the other test modules".
#![allow(unreachable_pub)]

mod layout;
