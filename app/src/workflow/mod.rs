//! The workflow model and its pure logic — normalisation, content hash, semantic diff,
//! node catalog — compiled for both the server and the browser, free of I/O.

pub mod catalog;
pub mod condition;
pub mod definition;
pub mod diff;
pub mod hash;

pub use definition::{Definition, Edge, Node, NodeData, Position};
pub use diff::{diff, DiffSummary, WorkflowDiff};
pub use hash::content_hash;
