//! The security audit trail: where an audit event is written (`recorder`), what never enters
//! it (`redact`), how changes are described (`changes`) and how it is stored and read
//! (`store`).

pub mod changes;
pub mod recorder;
pub mod redact;
pub mod store;

pub use recorder::{NewEvent, Recorder};

#[cfg(test)]
mod tests;
