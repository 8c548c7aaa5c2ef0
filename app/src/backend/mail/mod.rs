//! Mail: the outbox queue and its delivery loop (`outbox`), what alerts say (`alerts`), and
//! how they leave (`smtp`).

pub mod alerts;
pub mod outbox;
pub mod smtp;
