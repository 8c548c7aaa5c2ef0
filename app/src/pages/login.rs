use crate::server_fns::auth::{passkey_sign_in, same_site_path, start_passkey_sign_in, Login, LoginCode};
use leptos::prelude::*;
use leptos_meta::Title;

/// Sign in: email and password, then (for an account with two-step sign-in) the code.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // Where to go back to after signing in (the server accepts only a path on this site).
    let next = crate::location::parse_query(&crate::location::search()).get("next").unwrap_or_default();
    // The right password of an account with a second factor: the challenge for the code.
    let challenge = move || login.value().get().and_then(Result::ok).flatten();
    view! {
        <Title text="Sign in · Chronicle"/>
        <main class="auth-page">
            <section class="panel auth-card">
                <h1>"Chronicle"</h1>
                {move || match challenge() {
                    Some(challenge) => view! { <CodeStep challenge next=next.clone() login/> }.into_any(),
                    None => view! { <PasswordStep login next=next.clone()/><PasskeySignIn next=next.clone()/> }.into_any(),
                }}
            </section>
        </main>
    }
}

#[component]
fn PasswordStep(login: ServerAction<Login>, next: String) -> impl IntoView {
    let error = move || login.value().get().and_then(Result::err);
    view! {
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
    }
}

/// The second step: a code from the authenticator app, or one of the recovery codes.
#[component]
fn CodeStep(challenge: String, next: String, login: ServerAction<Login>) -> impl IntoView {
    let submit = ServerAction::<LoginCode>::new();
    let recovery = RwSignal::new(false);
    let error = move || submit.value().get().and_then(Result::err);
    view! {
        <p class="muted">"Two-step sign-in is on for this account."</p>
        <ActionForm action=submit attr:class="stack">
            <input type="hidden" name="challenge" value=challenge/>
            <input type="hidden" name="next" value=next/>
            {move || if recovery.get() {
                view! {
                    <input type="hidden" name="use_recovery_code" value="1"/>
                    <label>"Recovery code"
                        <input type="text" name="code" autocomplete="off" autocapitalize="off" spellcheck="false" required autofocus/>
                    </label>
                }.into_any()
            } else {
                view! {
                    <label>"Code from your authenticator app"
                        <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus/>
                    </label>
                }.into_any()
            }}
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <button type="submit" class="primary" disabled=move || submit.pending().get()>
                {move || if submit.pending().get() { "Checking…" } else { "Sign in" }}
            </button>
        </ActionForm>
        <p class="link-row">
            <button type="button" class="link-button" on:click=move |_| recovery.update(|r| *r = !*r)>
                {move || if recovery.get() { "Use the code from your app instead" } else { "Lost your device? Use a recovery code" }}
            </button>
            // A challenge lasts 5 minutes: after that, the password again.
            <button type="button" class="link-button" on:click=move |_| login.value().set(None)>"Start over"</button>
        </p>
    }
}

/// Sign in with a passkey: no email, no password; the browser offers the passkeys it holds.
#[component]
fn PasskeySignIn(next: String) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sign_in = move |_| {
        let next = next.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = async {
                let ceremony = start_passkey_sign_in().await.map_err(|e| e.message)?;
                let credential = crate::components::webauthn::get(&ceremony.options).await?;
                passkey_sign_in(ceremony.ceremony, credential).await.map_err(|e| e.message)
            }
            .await;
            busy.set(false);
            match result {
                // A full load: the shell reads the new session from the server.
                Ok(()) => {
                    let _ = window().location().set_href(same_site_path(&next).unwrap_or("/"));
                }
                Err(why) => error.set(Some(why)),
            }
        });
    };
    view! {
        <div class="passkey-sign-in">
            <p class="muted or">"or"</p>
            <button type="button" on:click=sign_in disabled=busy>{move || if busy.get() { "Waiting for your passkey…" } else { "Use a passkey" }}</button>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        </div>
    }
}
