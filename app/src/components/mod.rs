pub mod audit_pager;
pub mod canvas;
pub mod diff_view;
pub mod error_panel;
pub mod history_panel;
pub mod node_panel;
pub mod shell;
pub mod time;
