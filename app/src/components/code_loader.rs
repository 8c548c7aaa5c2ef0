//! How a page's code reaches it: after the server's HTML has painted, never before.
//!
//! Leptos's `HydrationScripts` preloads the WASM (and the current page's chunks) from the
//! `<head>`, so on a slow line 300 KB of code shares the wire with the stylesheet the first
//! paint waits for, and a paint that comes after the code has finished downloading is counted
//! as waiting for it. Here the page paints first; the next task fetches the JS glue and the
//! WASM (streamed and compiled as it arrives) and hydrates the page's islands, each loading
//! its own chunk, which the server does not preload either (no `WasmSplitManifest` context).

use leptos::config::LeptosOptions;
use leptos::prelude::*;
use std::sync::OnceLock;

/// The page's one script: starts loading after the first paint (a frame, then a task), with
/// a backstop for a tab that never renders a frame (opened in the background). Then it wakes
/// the page's islands in document order (Leptos's island script does the same), each fetching
/// its code first when it is a lazy chunk and keeping what was typed into it meanwhile. Each
/// island is marked live as it wakes (`data-live`: until then the stylesheet lets no click
/// land on it, where it would be lost), and the page when all are (`data-hydrated`).
const LOADER: &str = r#"(function (js, wasm) {
	let started = false;
	// What a person typed or picked in an island before its code woke (hydration sets the
	// fields from the island's state): put back and announced to the island once it is live.
	const isBox = f => f.type === 'checkbox' || f.type === 'radio';
	const typed = new Map();
	const note = e => {
		const f = e.target;
		if (f.closest && f.closest('leptos-island:not([data-live])')) typed.set(f, isBox(f) ? f.checked : f.value);
	};
	document.addEventListener('input', note, true);
	document.addEventListener('change', note, true);
	const putBack = island => {
		for (const [f, value] of typed) {
			if (!island.contains(f)) continue;
			typed.delete(f);
			if (isBox(f)) f.checked = value; else f.value = value;
			f.dispatchEvent(new Event('input', { bubbles: true }));
			f.dispatchEvent(new Event('change', { bubbles: true }));
		}
	};
	async function hydrateIslands(node, mod, onChildren) {
		for (const child of node.children) {
			const tag = child.tagName.toLowerCase();
			if (tag === 'leptos-island') {
				const hydrate = mod[child.dataset.component];
				if (hydrate) {
					if (onChildren) onChildren();
					await hydrate(child);
					child.setAttribute('data-live', '');
					putBack(child);
				} else {
					console.warn('no code for the island ' + child.dataset.component);
				}
				await hydrateIslands(child, mod, null);
			} else if (tag === 'leptos-children') {
				await hydrateIslands(child, mod, child.$$on_hydrate);
			} else {
				await hydrateIslands(child, mod, onChildren);
			}
		}
	}
	const start = () => {
		if (started) return;
		started = true;
		import(js)
			.then(mod => mod.default({ module_or_path: wasm }).then(() => { mod.hydrate(); return hydrateIslands(document.body, mod, null); }))
			.then(() => document.body.setAttribute('data-hydrated', 'true'));
	};
	requestAnimationFrame(() => setTimeout(start, 0));
	setTimeout(start, 3000);
})"#;

/// The `<script>` that loads and hydrates the page's code, for the shell's `<head>`. It also
/// puts the server's rendering in islands mode: only what islands create is sent for the
/// browser to pick up (Leptos's `HydrationScripts` does the same).
#[component]
pub fn CodeAfterPaint(options: LeptosOptions) -> impl IntoView {
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
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
