//! The e2e tests' harness is the `wagate-testkit` crate; this module only
//! brings it in (`mod common; use common::*;` in each test).

#![allow(unused_imports)]

pub use wagate_testkit::*;
