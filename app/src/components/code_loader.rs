//! How a page's code reaches it: after the server's HTML has painted, never before.
//!
//! Leptos's `HydrationScripts` preloads the WASM (and the current page's chunks) from the
//! `<head>`, so on a slow line 300 KB of code shares the wire with the stylesheet the first
//! paint waits for, and a paint that comes after the code has finished downloading is counted
//! as waiting for it. Here the page paints first; the next task fetches the JS glue and the
//! WASM (streamed and compiled as it arrives) and hydrates. The router then loads the page's
//! chunk group, which the server no longer preloads either (no `WasmSplitManifest` context).

use leptos::config::LeptosOptions;
use leptos::prelude::*;
use std::sync::OnceLock;

/// The page's one script: starts loading after the first paint (a frame, then a task), with
/// a backstop for a tab that never renders a frame (opened in the background).
const LOADER: &str = r#"(function (js, wasm) {
	let started = false;
	const start = () => {
		if (started) return;
		started = true;
		import(js).then(mod => mod.default({ module_or_path: wasm }).then(() => mod.hydrate()));
	};
	requestAnimationFrame(() => setTimeout(start, 0));
	setTimeout(start, 3000);
})"#;

/// The `<script>` that loads and hydrates the page's code, for the shell's `<head>`.
#[component]
pub fn CodeAfterPaint(options: LeptosOptions) -> impl IntoView {
    let (js, wasm) = code_files(&options);
    let pkg = &options.site_pkg_dir;
    let script = format!("{LOADER}(\"/{pkg}/{js}.js\", \"/{pkg}/{wasm}.wasm\");");
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
}

/// The JS glue's and the WASM's names without extension: under `hash-files`, with the content
/// hashes cargo-leptos wrote beside the server binary (read once); else the plain names.
fn code_files(options: &LeptosOptions) -> &'static (String, String) {
    static FILES: OnceLock<(String, String)> = OnceLock::new();
    FILES.get_or_init(|| {
        let name = options.output_name.to_string();
        if !options.hash_files {
            let wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() { name.clone() } else { format!("{name}_bg") };
            return (name, wasm);
        }
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| std::fs::read_to_string(exe.with_file_name(options.hash_file.as_ref())).ok())
            .unwrap_or_default();
        let hash_of = |kind: &str| {
            hashes.lines().find_map(|line| line.split_once(':').filter(|(k, _)| k.trim() == kind).map(|(_, h)| h.trim().to_owned()))
        };
        let hashed = |kind| hash_of(kind).map_or_else(|| name.clone(), |hash| format!("{name}.{hash}"));
        (hashed("js"), hashed("wasm"))
    })
}
