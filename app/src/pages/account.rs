use crate::components::error_panel::ErrorPanel;
use crate::components::mail_list::MailList;
use crate::components::time::RelativeTime;
use crate::server_fns::account::{
    finish_passkey_registration, my_mail, my_passkeys, my_second_factors, my_sessions, start_passkey_registration, ChangePassword, ConfirmTotp, DisableTotp,
    EnrolTotp, RemovePasskey, RevokeSessions,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The signed-in user's account: password, two-step sign-in, sessions and security mail.
#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    // A password change signs the other sessions out: the list is read again after it.
    let password_changed = Signal::derive(move || change.version().get());
    view! {
        <Title text="Account · Chronicle"/>
        <PasswordForm change/>
        <TwoStep/>
        <Passkeys/>
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

/// Two-step sign-in with an authenticator app: off → password → QR code and secret → a code
/// from the app → the recovery codes, shown once. On → turn off with password and a code.
#[component]
fn TwoStep() -> impl IntoView {
    let enrol = ServerAction::<EnrolTotp>::new();
    let confirm = ServerAction::<ConfirmTotp>::new();
    let disable = ServerAction::<DisableTotp>::new();
    let status = Resource::new(move || (confirm.version().get(), disable.version().get()), |_| my_second_factors());
    let starting = RwSignal::new(false);
    let enrolment = move || enrol.value().get().and_then(Result::ok);
    let codes = move || confirm.value().get().and_then(Result::ok);
    let failure = move || {
        (enrol.value().get().and_then(Result::err))
            .or_else(|| confirm.value().get().and_then(Result::err))
            .or_else(|| disable.value().get().and_then(Result::err))
            .map(|e| e.for_people())
    };
    // Turned off: the enrolment and codes shown before are gone with it.
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            starting.set(false);
            enrol.value().set(None);
            confirm.value().set(None);
        }
    });
    view! {
        <section class="panel narrow" aria-labelledby="two-step-title">
            <h1 id="two-step-title">"Two-step sign-in"</h1>
            <p class="muted">"After your password, sign-in asks for a code from an authenticator app on your phone."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(_) if codes().is_some() => view! { <RecoveryCodes codes=codes().unwrap_or_default()/> }.into_any(),
                        Ok(s) if s.totp_enabled => view! {
                            <p class="ok">{format!("On. {} left.", crate::components::count::count(s.recovery_codes_left, "recovery code"))}</p>
                            <ActionForm action=disable attr:class="stacked-form">
                                <label>"Your password"<input type="password" name="current_password" autocomplete="current-password" required/></label>
                                <label>"Code from your app (or a recovery code)"<input type="text" name="code" autocomplete="one-time-code" required/></label>
                                <button type="submit" class="danger" disabled=move || disable.pending().get()>"Turn off two-step sign-in"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(_) => match enrolment() {
                            // The password is asked once the person starts (one "Current password" per page).
                            None if !starting.get() => view! {
                                <button type="button" class="primary" on:click=move |_| starting.set(true)>"Set up two-step sign-in"</button>
                            }.into_any(),
                            None => view! {
                                <ActionForm action=enrol attr:class="stacked-form">
                                    <label>"Your password"<input type="password" name="current_password" autocomplete="current-password" required autofocus/></label>
                                    <button type="submit" class="primary" disabled=move || enrol.pending().get()>"Continue"</button>
                                </ActionForm>
                            }.into_any(),
                            Some(e) => view! {
                                <ol class="steps">
                                    <li>"Scan this QR code with your authenticator app:"
                                        <div class="qr" role="img" aria-label="QR code of the two-step sign-in secret" inner_html=e.qr_svg.clone()></div>
                                    </li>
                                    <li>"Or enter this secret by hand: "<code class="secret-text" data-testid="totp-secret">{e.secret.clone()}</code></li>
                                    <li>"Enter the 6-digit code the app shows:"</li>
                                </ol>
                                <ActionForm action=confirm attr:class="stacked-form">
                                    <label>"Code"<input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus/></label>
                                    <button type="submit" class="primary" disabled=move || confirm.pending().get()>"Turn on"</button>
                                </ActionForm>
                            }.into_any(),
                        },
                    }
                })}
            </Transition>
            {move || failure().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        </section>
    }
}

/// The recovery codes, this once: each signs in once when the phone is lost.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <p class="ok" role="status">"Two-step sign-in is on."</p>
        <p>"Keep these recovery codes somewhere safe. Each works once, in place of a code, if you lose your phone. They are not shown again."</p>
        <ul class="recovery-codes" aria-label="Recovery codes">
            {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
        </ul>
    }
}

/// Passkeys: sign in with the device's lock (fingerprint, face, PIN) instead of a password;
/// one counts as two factors.
#[component]
fn Passkeys() -> impl IntoView {
    let remove = ServerAction::<RemovePasskey>::new();
    let added = RwSignal::new(0usize);
    let list = Resource::new(move || (remove.version().get(), added.get()), |_| my_passkeys());
    let name = RwSignal::new(String::from("Passkey"));
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let result = async {
                let ceremony = start_passkey_registration().await.map_err(|e| e.for_people())?;
                let credential = crate::components::webauthn::create(&ceremony.options).await?;
                finish_passkey_registration(ceremony.ceremony, credential, name.get_untracked()).await.map_err(|e| e.for_people())
            }
            .await;
            busy.set(false);
            if result.is_ok() {
                added.update(|n| *n += 1);
            }
            outcome.set(Some(result.map(|key| format!("Passkey “{}” added: use it on the sign-in page.", key.name))));
        });
    };
    Effect::new(move |_| {
        if let Some(result) = remove.value().get() {
            outcome.set(Some(result.map(|_| "Passkey removed.".to_owned()).map_err(|e| e.for_people())));
        }
    });
    view! {
        <section class="panel narrow" aria-labelledby="passkeys-title">
            <h1 id="passkeys-title">"Passkeys"</h1>
            <p class="muted">"Sign in with this device's screen lock (fingerprint, face or PIN) instead of your password. A passkey counts as two-step sign-in."</p>
            <form class="stacked-form" on:submit=add>
                <label>"Name"<input type="text" maxlength="100" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <button type="submit" class="primary" disabled=busy>{move || if busy.get() { "Waiting for your device…" } else { "Add a passkey" }}</button>
            </form>
            {move || outcome.get().map(|o| match o {
                Ok(done) => view! { <p class="ok" role="status">{done}</p> }.into_any(),
                Err(why) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading passkeys…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(keys) if keys.is_empty() => view! { <p class="empty-state">"No passkeys yet."</p> }.into_any(),
                        Ok(keys) => view! {
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Added"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|k| {
                                        let (id, label) = (k.id.clone(), k.name.clone());
                                        let on_remove = move |_| {
                                            if window().confirm_with_message(&format!("Remove the passkey “{label}”? It will no longer sign you in.")).unwrap_or(false) {
                                                remove.dispatch(RemovePasskey { id: id.clone() });
                                            }
                                        };
                                        view! {
                                            <tr>
                                                <td>{k.name.clone()}</td>
                                                <td><RelativeTime at=k.created_at.clone()/></td>
                                                <td><crate::components::time::TimeOrNever at=k.last_used_at.clone()/></td>
                                                <td><button type="button" class="danger small" on:click=on_remove>{format!("Remove {}", k.name)}</button></td>
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
