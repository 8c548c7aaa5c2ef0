//! Server functions: the browser's door to the backend. Each is thin — identify the caller,
//! check the role, call the backend — exactly like its REST twin.

pub mod account;
pub mod audit;
pub mod engagement;
pub mod auth;
pub mod executions;
pub mod files;
pub mod keys;
pub mod members;
pub mod workflows;
