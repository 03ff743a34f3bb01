//! The export side as values: preparing an upstream workspace's sources ([`prepare`]).

pub mod prepare;
