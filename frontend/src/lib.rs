//! The browser entry point: hydrates the server-rendered page. Pages are lazy-loaded chunks
//! (`cargo leptos build --split`), so hydration waits for the current page's chunk.

// The app's view types nest deeply; hydration code is generated for the whole tree.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The executor is started by `hydrate_from_async`; this first task runs on wasm-bindgen's.
    wasm_bindgen_futures::spawn_local(async {
        let mounted = leptos::mount::hydrate_from_async(leptos::prelude::document().body().expect("a body"), app::App).await;
        mounted.forget();
        // Lets tests (and curious people) tell a live page from server-rendered HTML.
        if let Some(body) = leptos::prelude::document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Room for `--split` to give each lazy chunk its own read-only data. wasm-split lays the
/// linker's `.rodata` out again chunk by chunk, each part padded to its alignment; when that is
/// longer than the original segment it keeps the whole segment in the main module instead —
/// it was 326 bytes longer, which put ~110 KB of the lazy pages' strings and tables into every
/// first load. Nothing refers to these bytes, so no output module carries them.
#[used]
static SPLIT_DATA_SLACK: [u8; 4096] = [0xA5; 4096];
