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
