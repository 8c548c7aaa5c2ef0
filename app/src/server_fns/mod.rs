//! Server functions: the browser's door to the backend. Each is thin — identify the caller,
//! check the role, call the backend — exactly like its REST twin.

pub mod auth;
pub mod members;
pub mod workflows;
