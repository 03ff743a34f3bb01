//! The export side as values: which workspaces to rebuild ([`plan`]) and how an upstream
//! workspace's sources are prepared ([`prepare`]).

pub mod export_plan;
pub mod plan;
pub mod prepare;
