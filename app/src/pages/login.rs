use crate::server_fns::auth::Login;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(Result::err);
    // Where to go back to after signing in (the server accepts only a path on this site).
    let next = use_query_map().read_untracked().get("next").unwrap_or_default();
    view! {
        <Title text="Sign in · Chronicle"/>
        <main class="auth-page">
            <section class="panel auth-card">
                <h1>"Chronicle"</h1>
                <p class="muted">"Sign in to see who changed what, and when."</p>
                <ActionForm action=login attr:class="stack">
                    <input type="hidden" name="next" value=next/>
                    <label>
                        "Email"
                        <input type="email" name="email" autocomplete="username" required autofocus/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                    <button type="submit" class="primary" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </section>
        </main>
    }
}
