//! A new secret, once: a copy button and a plain warning that it will not be shown again.

use leptos::prelude::*;

#[component]
pub fn SecretReveal(
    name: String,
    secret: String,
    what: &'static str,
    on_done: impl Fn() + 'static,
    /// What was created, when it is not a key named `name`.
    #[prop(optional, into)]
    heading: Option<String>,
) -> impl IntoView {
    let heading = heading.unwrap_or_else(|| format!("Key \"{name}\" created."));
    let (copied, set_copied) = signal(false);
    let to_copy = secret.clone();
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&to_copy);
        set_copied.set(true);
    };
    view! {
        <div class="secret-reveal" role="status">
            <p><strong>{heading}</strong>" Copy it now: you won't see it again."</p>
            <div class="secret-row">
                // A wrapping box tall enough for every glyph: a one-line input clips a
                // monospace underscore and scrolls a long key out of sight.
                <textarea readonly class="secret" rows="2" spellcheck="false" aria-label=format!("New {what}") prop:value=secret
                    on:focus=|ev| { let _ = event_target::<web_sys::HtmlTextAreaElement>(&ev).select(); }></textarea>
                <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                <button type="button" class="primary" on:click=move |_| on_done()>"Done"</button>
            </div>
        </div>
    }
}
