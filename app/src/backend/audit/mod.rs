//! The security audit trail: where an audit event is written (`recorder`), what never enters
//! it (`redact`), how changes are described (`changes`) and how it is stored and read
//! (`store`, indexed by `keys`; the writer's `writer_connection`), how it leaves for a SIEM
//! (`export` as CSV, JSON Lines or `ocsf` rows; signed `streams`), how it proves itself: the
//! hash `chain`, the `seal`er and its signed checkpoints (`signing`), `verify` — and how it
//! ages out (`retention`).

pub mod chain;
pub mod changes;
pub mod export;
pub mod keys;
pub mod ocsf;
pub mod recorder;
pub mod redact;
pub mod retention;
pub mod seal;
pub mod signing;
pub mod streams;
pub mod store;
pub mod verify;
pub mod writer_connection;

pub use recorder::{NewEvent, Recorder};

#[cfg(test)]
mod tests;
