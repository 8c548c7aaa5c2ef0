use crate::components::error_panel::ErrorPanel;
use crate::components::mail_list::MailList;
use crate::components::time::RelativeTime;
use crate::server_fns::account::{my_mail, my_sessions, ChangePassword, RevokeSessions};
use leptos::prelude::*;
use leptos_meta::Title;

/// The signed-in user's account: change password, and their sessions.
#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    // A password change signs the other sessions out: the list is read again after it.
    let password_changed = Signal::derive(move || change.version().get());
    view! {
        <Title text="Account · Chronicle"/>
        <PasswordForm change/>
        <SessionList password_changed/>
        <PersonalMail/>
    }
}

#[component]
fn PasswordForm(change: ServerAction<ChangePassword>) -> impl IntoView {
    let result = move || change.value().get();
    // Changed: the fields are emptied (no password stays typed on the page).
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(form)) = (change.value().get(), form.get()) {
            form.reset();
        }
    });
    view! {
        <section class="panel narrow">
            <h1>"Change password"</h1>
            <ActionForm action=change node_ref=form attr:class="stacked-form">
                <label>"Current password"<input type="password" name="current_password" autocomplete="current-password" required/></label>
                <label>"New password (at least 10 characters)"<input type="password" name="new_password" autocomplete="new-password" minlength="10" required/></label>
                <label>"Repeat new password"<input type="password" name="confirm_password" autocomplete="new-password" required/></label>
                <button type="submit" class="primary" disabled=move || change.pending().get()>"Change password"</button>
            </ActionForm>
            {move || match result() {
                Some(Ok(())) => Some(view! { <p class="ok" role="status">"Password changed. Your other sessions were signed out."</p> }.into_any()),
                Some(Err(e)) => Some(view! {
                    <p class="form-error" role="alert">{e.for_people()}</p>
                }.into_any()),
                None => None,
            }}
        </section>
    }
}

#[component]
fn SessionList(password_changed: Signal<usize>) -> impl IntoView {
    let revoke = ServerAction::<RevokeSessions>::new();
    let sessions = Resource::new(move || (revoke.version().get(), password_changed.get()), |_| my_sessions());
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Sessions"</h1>
                <button type="button" on:click=move |_| {
                    if window().confirm_with_message("Sign out every other session?").unwrap_or(false) {
                        revoke.dispatch(RevokeSessions { id: None });
                    }
                }>"Sign out all other sessions"</button>
            </div>
            {move || revoke.value().get().map(|r| match r {
                Ok(n) => view! { <p class="ok" role="status">{format!("{} signed out.", crate::components::count::count(n as i64, "session"))}</p> }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.for_people()}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr><th>"Signed in"</th><th>"From"</th><th>"Browser"</th><th>"Expires"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|s| {
                                        let id = s.id.clone();
                                        view! {
                                            <tr>
                                                <td><RelativeTime at=s.created_at.clone()/></td>
                                                <td>{s.ip.clone().unwrap_or_else(|| "unknown".into())}</td>
                                                <td class="user-agent">{s.user_agent.clone().unwrap_or_default()}</td>
                                                <td><RelativeTime at=s.expires_at.clone()/></td>
                                                <td>{if s.current {
                                                    view! { <span class="badge current">"This session"</span> }.into_any()
                                                } else {
                                                    view! { <button type="button" class="danger small"
                                                        on:click=move |_| { revoke.dispatch(RevokeSessions { id: Some(id.clone()) }); }>"Sign out"</button> }.into_any()
                                                }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Alerts about the user's personal keys: delivered by SMTP when configured, else kept here.
#[component]
fn PersonalMail() -> impl IntoView {
    let mail = Resource::new(|| (), |_| my_mail());
    view! {
        <section class="panel">
            <h1>"Your security mail"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading mail…"</p> }>
                {move || Suspend::new(async move {
                    match mail.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No mail about your personal keys."</p> }.into_any(),
                        Ok(list) => view! { <MailList list/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
