use crate::components::audit_pager::{audit_pager, LoadMore};
use crate::components::error_panel::ErrorPanel;
use crate::components::secret_reveal::SecretReveal;
use crate::components::time::{RelativeTime, TimeOrNever};
use crate::error::{ApiError, ErrorKind};
use crate::components::shell::{membership, RoleGate};
use crate::model::{ApiKey, AuditEvent, AuditPage, CreatedKey, Role, SCOPES};
use crate::server_fns::keys::{key_activity, list_keys, CreateKey, RevokeKey};
use leptos::prelude::*;
use leptos_meta::Title;

/// API keys: the org's keys (owner/admin) and the caller's personal keys, each with its
/// Activity read from the audit trail.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let org = super::org_param();
    let org_keys = KeySet::new(Signal::derive(move || Some(org.get())));
    let personal_keys = KeySet::new(Signal::stored(None));
    view! {
        <Title text="API keys · Chronicle"/>
        <RoleGate min=Role::Member>
            <KeySection set=org_keys title="Organisation keys"
                blurb="Act inside this organisation with exactly their scopes. Creating or revoking one emails the owners."/>
            <KeySection set=personal_keys title="Personal keys"
                blurb="Act as you, with your role in each organisation, limited to their scopes. Creating or revoking one emails you."/>
        </RoleGate>
    }
}

/// Anyone may see their personal keys; an org's keys need owner or admin there.
async fn may_see(session: crate::components::shell::Session, org: Option<&str>) -> Result<(), ApiError> {
    let Some(org) = org else { return Ok(()) };
    let role = session.info().await.and_then(|info| membership(&info, org).map(|m| m.role));
    if role.is_some_and(|r| r >= Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("admin"))
    }
}

/// What the create form holds; kept here so a refresh of the list never loses typed input.
#[derive(Clone, Copy)]
struct KeyForm {
    name: RwSignal<String>,
    scopes: RwSignal<Vec<String>>,
    expiry: RwSignal<String>,
    /// Personal keys only: the caller's current password.
    password: RwSignal<String>,
}

/// One set of keys — the org's, or the caller's own — with its actions and resources. The page
/// creates both sets, outside the role gate and every suspense: Leptos builds what is inside
/// those once for each pass it makes over them, and a resource created there was fetched each
/// time (the query log showed every list three times a page).
#[derive(Clone, Copy)]
struct KeySet {
    org: Signal<Option<String>>,
    create: ServerAction<CreateKey>,
    revoke: ServerAction<RevokeKey>,
    keys: Resource<Result<Vec<ApiKey>, ApiError>>,
    activity: Resource<Result<AuditPage, ApiError>>,
}

impl KeySet {
    fn new(org: Signal<Option<String>>) -> Self {
        let create = ServerAction::<CreateKey>::new();
        let revoke = ServerAction::<RevokeKey>::new();
        // A member never asks for the org's keys: the section is not theirs to see.
        let session = super::session();
        let source = move || (org.get(), create.version().get(), revoke.version().get());
        let keys = Resource::new(source, move |(org, _, _)| async move {
            may_see(session, org.as_deref()).await?;
            list_keys(org).await
        });
        let activity = Resource::new(source, move |(org, _, _)| async move {
            may_see(session, org.as_deref()).await?;
            key_activity(org, None).await
        });
        Self { org, create, revoke, keys, activity }
    }
}

/// One set of keys on the page; the org section disappears for a member (the server says 403).
#[component]
fn KeySection(set: KeySet, title: &'static str, blurb: &'static str) -> impl IntoView {
    let KeySet { org, create, revoke, keys, activity } = set;
    let form = KeyForm {
        name: RwSignal::new(String::new()),
        scopes: RwSignal::new(Vec::new()),
        expiry: RwSignal::new(String::new()),
        password: RwSignal::new(String::new()),
    };
    let (revealed, set_revealed) = signal(None::<CreatedKey>);
    Effect::new(move |_| {
        match create.value().get() {
            Some(Ok(created)) => {
                set_revealed.set(Some(created));
                form.name.set(String::new());
                form.scopes.set(Vec::new());
                form.expiry.set(String::new());
                form.password.set(String::new());
            }
            // A new attempt's error never stands beside an older key's secret.
            Some(Err(_)) => set_revealed.set(None),
            None => {}
        }
    });
    let error = move || create.value().get().and_then(Result::err).or_else(|| revoke.value().get().and_then(Result::err));
    let heading_id = if org.get_untracked().is_some() { "org-keys" } else { "personal-keys" };
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
            {move || {
                let org = org.get();
                Suspend::new(async move {
                    let list = match keys.await {
                        Err(e) if org.is_some() && e.code == ErrorKind::Forbidden => return ().into_any(),
                        other => other,
                    };
                    view! {
                        <section class="panel" aria-labelledby=heading_id>
                            <h1 id=heading_id>{title}</h1>
                            <p class="muted">{blurb}</p>
                            <CreateKeyForm org=org.clone() create form/>
                            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
                            {move || revealed.get().map(|created| view! {
                                <SecretReveal name=created.key.name secret=created.secret what="API key" on_done=move || set_revealed.set(None)/>
                            })}
                            {match list {
                                Err(error) => view! { <ErrorPanel error/> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <p class="empty-state">"No keys yet."</p> }.into_any(),
                                Ok(list) => view! { <KeyTable keys=list org=org.clone() revoke/> }.into_any(),
                            }}
                            <KeyActivity org first=activity/>
                        </section>
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}

#[component]
fn CreateKeyForm(org: Option<String>, create: ServerAction<CreateKey>, form: KeyForm) -> impl IntoView {
    let KeyForm { name, scopes, expiry, password } = form;
    let personal = org.is_none();
    let prefix = if personal { "personal" } else { "org" };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A date picks the end of that day, UTC.
        let expires_at = Some(expiry.get()).filter(|d| !d.is_empty()).map(|d| format!("{d}T23:59:59Z"));
        let current_password = Some(password.get()).filter(|_| personal);
        create.dispatch(CreateKey { org: org.clone(), name: name.get(), scopes: scopes.get(), expires_at, current_password });
    };
    view! {
        <form class="key-form" on:submit=on_submit>
            <label>
                "Name"
                <input type="text" required maxlength="100" placeholder="e.g. CI deploy" prop:value=name
                    on:input=move |ev| name.set(event_target_value(&ev)) id=format!("{prefix}-key-name")/>
            </label>
            <fieldset class="scopes">
                <legend>"Scopes"</legend>
                {SCOPES.into_iter().map(|scope| view! {
                    <label class="check">
                        <input type="checkbox" value=scope
                            prop:checked=move || scopes.get().iter().any(|s| s == scope)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                scopes.update(|list| {
                                    list.retain(|s| s != scope);
                                    if on { list.push(scope.to_owned()); }
                                });
                            }/>
                        {scope}
                    </label>
                }).collect_view()}
            </fieldset>
            <label>
                "Expires (optional)"
                // Today at the earliest: a key that expires in the past is refused anyway.
                <input type="date" min=chrono::Utc::now().format("%Y-%m-%d").to_string() prop:value=expiry
                    on:input=move |ev| expiry.set(event_target_value(&ev))/>
            </label>
            {personal.then(|| view! {
                // A key acts as you until revoked: a stolen session alone must not mint one.
                <label>
                    "Your current password"
                    <input type="password" autocomplete="current-password" prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
            })}
            <button type="submit" class="primary" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create key" }}
            </button>
        </form>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKey>, org: Option<String>, revoke: ServerAction<RevokeKey>) -> impl IntoView {
    view! {
        <table class="table keys cards">
            <thead><tr>
                <th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th>"Status"</th>
            </tr></thead>
            <tbody>
                {keys.into_iter().map(|k| {
                    let (org, id, label) = (org.clone(), k.id.clone(), format!("{} ({})", k.name, k.display));
                    let on_revoke = move |_| {
                        if window().confirm_with_message(&format!("Revoke {label}? Anything using it stops working at once.")).unwrap_or(false) {
                            revoke.dispatch(RevokeKey { org: org.clone(), id: id.clone() });
                        }
                    };
                    let expired = k.expires_at.as_deref().is_some_and(crate::components::time::is_past);
                    view! {
                        <tr class:revoked=k.revoked_at.is_some()>
                            <td class="key">{k.name.clone()}</td>
                            <td><code>{k.display.clone()}</code></td>
                            <td data-label="Scopes">{k.scopes.join(", ")}</td>
                            <td data-label="Created"><RelativeTime at=k.created_at.clone()/>" by "{k.created_by.name.clone()}</td>
                            <td data-label="Last used"><TimeOrNever at=k.last_used_at.clone()/></td>
                            <td data-label="Expires"><TimeOrNever at=k.expires_at.clone()/></td>
                            <td class="row-actions">{match (k.revoked_at.clone(), expired) {
                                (Some(t), _) => view! { <span class="badge">"Revoked "<RelativeTime at=t/></span> }.into_any(),
                                (None, true) => view! { <span class="badge">"Expired"</span> }.into_any(),
                                (None, false) => view! {
                                    <button type="button" class="danger small" aria-label=format!("Revoke {}", k.name) on:click=on_revoke>"Revoke"</button>
                                }.into_any(),
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Every create and revoke, revoked keys included, with who and when; "Load more" pages on.
#[component]
fn KeyActivity(org: Option<String>, first: Resource<Result<AuditPage, ApiError>>) -> impl IntoView {
    let pager = audit_pager(first, move |cursor| key_activity(org.clone(), Some(cursor)));
    view! {
        <h2>"Activity"</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading activity…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(page) if page.events.is_empty() => view! { <p class="empty-state">"No key was created or revoked yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <ul class="activity">
                            {page.events.into_iter().map(|e| view! { <ActivityItem event=e/> }).collect_view()}
                            <For each=move || pager.extra.get() key=|e| e.id.clone() let:event>
                                <ActivityItem event/>
                            </For>
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
        <LoadMore pager/>
    }
}

#[component]
fn ActivityItem(event: AuditEvent) -> impl IntoView {
    let verb = if event.action == "api_key.revoked" { "revoked" } else { "created" };
    let display = event.metadata.get("display").and_then(|d| d.as_str()).unwrap_or("a key").to_owned();
    let name = event.metadata.get("name").and_then(|d| d.as_str()).unwrap_or_default().to_owned();
    let who = event.actor.name.clone().unwrap_or_else(|| event.actor.label.clone());
    view! {
        <li class=format!("activity-item {verb}")>
            <span class="who">{who}</span>" "{verb}" "<strong>{name}</strong>" "<code>{display}</code>" · "
            <RelativeTime at=event.created_at.clone()/>
            {event.ip.clone().map(|ip| view! { <span class="muted">" · from "{ip}</span> })}
        </li>
    }
}
