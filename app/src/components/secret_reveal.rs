//! A new key's secret, once: a copy button and a plain warning that it will not be shown again.

use leptos::prelude::*;

#[component]
pub fn SecretReveal(name: String, secret: String, what: &'static str, on_done: impl Fn() + 'static) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let to_copy = secret.clone();
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&to_copy);
        set_copied.set(true);
    };
    view! {
        <div class="secret-reveal" role="status">
            <p><strong>{format!("Key \"{name}\" created.")}</strong>" Copy it now: you won't see it again."</p>
            <div class="secret-row">
                <input type="text" readonly class="secret" aria-label=format!("New {what}") prop:value=secret
                    on:focus=|ev| { let _ = event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
                <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                <button type="button" class="primary" on:click=move |_| on_done()>"Done"</button>
            </div>
        </div>
    }
}
