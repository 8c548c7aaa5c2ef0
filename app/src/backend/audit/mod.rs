//! The security audit trail: where an audit event is written (`recorder`), what never enters
//! it (`redact`), how changes are described (`changes`) and how it is stored and read
//! (`store`, indexed by `keys`; the writer's `writer_connection`), and how it leaves for a SIEM (`export`).

pub mod changes;
pub mod export;
pub mod keys;
pub mod recorder;
pub mod redact;
pub mod store;
pub mod writer_connection;

pub use recorder::{NewEvent, Recorder};

#[cfg(test)]
mod tests;
