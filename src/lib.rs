//! rootlog: a transparency log for the signed daily Merkle roots of a
//! compliance archive's tenants. See README.md and DESIGN of the formats.

pub mod merkle;
pub mod note;
pub mod statement;
