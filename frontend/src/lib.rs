//! The browser entry point. Pages are rendered on the server; the browser runs code only for
//! their interactive parts (Leptos islands): `hydrate` prepares the runtime, then the page's
//! loader (`app::components::code_loader`) hydrates each island, fetching its code on demand
//! (`cargo leptos build --split`: every page's island is a lazy chunk).

// The app's view types nest deeply; hydration code is generated for the whole tree.
#![recursion_limit = "256"]

// Links the app crate: its islands export the functions that hydrate them.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A server function that answers with a redirect (signing in or out) loads that page.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = leptos::prelude::window().location().set_href(to);
    });
}

/// Room for `--split` to give each lazy chunk its own read-only data. wasm-split lays the
/// linker's `.rodata` out again chunk by chunk, each part padded to its alignment; when that is
/// longer than the original segment it keeps the whole segment in the main module instead —
/// it was 326 bytes longer, which put ~110 KB of the lazy pages' strings and tables into every
/// first load. Nothing refers to these bytes, so no output module carries them.
#[used]
static SPLIT_DATA_SLACK: [u8; 4096] = [0xA5; 4096];
