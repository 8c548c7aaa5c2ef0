use crate::components::error_panel::ErrorPanel;
use crate::model::{InvitationView, UserInfo};
use crate::server_fns::members::{open_invitation, AcceptInvitation};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/invite/{token}`: what the invitation is for, and how to accept it: a new account (name
/// and password), or the signed-in account whose email it names.
#[component]
pub fn InvitePage() -> impl IntoView {
    let token = crate::location::param("token").unwrap_or_default();
    let token_for_lookup = token.clone();
    let found = Resource::new(|| (), move |_| open_invitation(token_for_lookup.clone()));
    view! {
        <Title text="Invitation · Chronicle"/>
        <main class="auth-page" id="main">
            <section class="panel auth-card">
                <h1>"Chronicle"</h1>
                <Suspense fallback=|| view! { <p class="loading">"Loading the invitation…"</p> }>
                    {move || {
                        let token = token.clone();
                        Suspend::new(async move {
                            match found.await {
                                Err(error) if error.status() == 404 => view! {
                                    <p class="form-error" role="alert">"This invitation link is not valid any more: it was used, revoked or has expired. Ask whoever invited you for a new one."</p>
                                    <a href="/login">"Sign in"</a>
                                }.into_any(),
                                Err(error) => view! { <ErrorPanel error/> }.into_any(),
                                Ok((view, me)) => view! { <Accept token view me/> }.into_any(),
                            }
                        })
                    }}
                </Suspense>
            </section>
        </main>
    }
}

#[component]
fn Accept(token: String, view: InvitationView, me: Option<UserInfo>) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = move || accept.value().get().and_then(Result::err).map(|e| e.for_people());
    let pending = move || accept.pending().get();
    let article = if view.role == crate::model::Role::Admin { "an" } else { "a" };
    let intro = format!("{} invited you to join {} as {article} {}.", view.invited_by, view.org_name, view.role);
    let matches = me.as_ref().is_some_and(|me| me.email.eq_ignore_ascii_case(&view.email));
    let body = match (&me, view.account_exists) {
        (Some(_), _) if matches => view! {
            <ActionForm action=accept attr:class="stack">
                <input type="hidden" name="token" value=token.clone()/>
                <button type="submit" class="primary" disabled=pending>{format!("Join {}", view.org_name)}</button>
            </ActionForm>
        }.into_any(),
        (Some(me), _) => view! {
            <p class="form-error" role="alert">{format!("This invitation is for {}, and you are signed in as {}. Sign out, then open the link again.", view.email, me.email)}</p>
        }.into_any(),
        (None, true) => view! {
            <p>{format!("An account for {} exists already: sign in, then open this link again to join.", view.email)}</p>
            <a class="button primary" href=format!("/login?next=/invite/{token}")>"Sign in"</a>
        }.into_any(),
        (None, false) => view! {
            <ActionForm action=accept attr:class="stack">
                <input type="hidden" name="token" value=token.clone()/>
                <label>"Email"<input type="email" value=view.email.clone() readonly autocomplete="username"/></label>
                <label>"Your name"<input type="text" name="name" autocomplete="name" maxlength="100" required autofocus/></label>
                <label>"Password (at least 10 characters)"<input type="password" name="password" autocomplete="new-password" minlength="10" required/></label>
                <button type="submit" class="primary" disabled=pending>
                    {move || if pending() { "Creating your account…" } else { "Create account and join" }}
                </button>
            </ActionForm>
        }.into_any(),
    };
    view! {
        <p>{intro}</p>
        {body}
        {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <p class="muted small">"The link works once and expires "<crate::components::time::RelativeTime at=view.expires_at.clone()/>"."</p>
    }
}
