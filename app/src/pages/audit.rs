use crate::components::audit_pager::{audit_pager, LoadMore};
use crate::components::count::count;
use crate::components::error_panel::ErrorPanel;
use crate::components::shell::RoleGate;
use crate::components::time::RelativeTime;
use crate::error::ErrorKind;
use crate::model::{ActorChoice, AuditEvent, AuditQuery, Role, AUDIT_ACTIONS};
use crate::server_fns::audit::{explore_audit, latest_checkpoint, VerifyTrail};
use crate::server_fns::members::audit_actors;
use leptos::prelude::*;
use leptos_meta::Title;

const RESOURCE_TYPES: [&str; 8] = ["workflow", "api_key", "webhook_key", "credential", "member", "user", "session", "audit_log"];

/// The filters in the page's URL, so a view can be shared.
fn filters_from_url() -> Memo<AuditQuery> {
    let query = crate::location::query();
    Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
        AuditQuery {
            action: get("action"),
            actor_id: get("actor_id"),
            resource_type: get("resource_type"),
            resource_id: get("resource_id"),
            since: get("since"),
            until: get("until"),
            limit: None,
            cursor: None,
        }
    })
}

fn query_string(q: &AuditQuery) -> String {
    serde_urlencoded::to_string(q).unwrap_or_default()
}

/// The audit explorer (owner/admin): newest first, filters in the URL, keyset "Load more",
/// rows that expand to their changes and metadata, export of the current filter.
#[component]
pub fn AuditExplorerPage() -> impl IntoView {
    let org = super::org_param();
    let filters = filters_from_url();
    let first = Resource::new(move || (org.get(), filters.get()), |(org, q)| explore_audit(org, q));
    let pager = audit_pager(first, move |cursor| {
        let query = AuditQuery { cursor: Some(cursor), ..filters.get_untracked() };
        explore_audit(org.get_untracked(), query)
    });
    let export = move |format: &str| format!("/api/v1/orgs/{}/audit/export?format={format}&{}", org.get(), query_string(&filters.get()));
    view! {
        <Title text="Audit log · Chronicle"/>
        <RoleGate min=Role::Admin>
        <section class="panel">
            <div class="panel-head">
                <h1>"Audit log"</h1>
                <div class="export">
                    <a class="button" href=move || export("csv") download>"Export CSV"</a>
                    <a class="button" href=move || export("jsonl") download>"Export JSON Lines"</a>
                    <a class="button" href=move || export("ocsf") download>"Export OCSF"</a>
                    <a class="button" href=move || format!("/orgs/{}/audit/streams", org.get())>"Streams"</a>
                </div>
            </div>
            <IntegrityPanel org/>
            <FilterForm org filters/>
            <Transition fallback=|| view! { <p class="loading">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        // A filter the server refuses (Until before From) is the form's to explain.
                        Err(error) if error.code == ErrorKind::InvalidInput => view! {
                            <p class="form-error" role="alert">{format!("These filters cannot be applied. {}.", error.for_people())}</p>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(page) if page.events.is_empty() => view! {
                            <p class="empty-state">"No events match these filters."</p>
                        }.into_any(),
                        Ok(page) => view! {
                            <table class="table audit cards">
                                <thead><tr>
                                    <th><span class="visually-hidden">"Details"</span></th>
                                    <th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Resource"</th><th>"IP"</th>
                                </tr></thead>
                                {page.events.into_iter().map(|e| view! { <EventRows event=e/> }).collect_view()}
                                <For each=move || pager.extra.get() key=|e| e.id.clone() let:event>
                                    <EventRows event/>
                                </For>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <LoadMore pager/>
        </section>
        </RoleGate>
    }
}

/// `2026-11-23T10:00` from a datetime-local input, as UTC RFC 3339 — and back.
fn input_to_rfc3339(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| format!("{v}:00Z"))
}
fn rfc3339_to_input(v: &Option<String>) -> String {
    v.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
}

#[component]
fn FilterForm(org: Memo<String>, filters: Memo<AuditQuery>) -> impl IntoView {
    let actors = Resource::new(move || org.get(), audit_actors);
    let initial = filters.get_untracked();
    let (actions, set_actions) = signal(initial.action.clone().map(|a| a.split(',').map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default());
    let (actor, set_actor) = signal(initial.actor_id.clone().unwrap_or_default());
    let (rtype, set_rtype) = signal(initial.resource_type.clone().unwrap_or_default());
    let (rid, set_rid) = signal(initial.resource_id.clone().unwrap_or_default());
    let (since, set_since) = signal(rfc3339_to_input(&initial.since));
    let (until, set_until) = signal(rfc3339_to_input(&initial.until));
    let nonempty = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let go = move |q: AuditQuery| {
        let qs = query_string(&q);
        crate::location::set_query(&qs, false);
    };
    let action_menu = NodeRef::<leptos::html::Details>::new();
    let apply = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            // The action menu floats over the results: close it once the choice is applied.
            if let Some(menu) = action_menu.get() {
                let _ = menu.remove_attribute("open");
            }
            go(AuditQuery {
                action: nonempty(actions.get().join(",")),
                actor_id: nonempty(actor.get()),
                resource_type: nonempty(rtype.get()),
                resource_id: nonempty(rid.get()),
                since: input_to_rfc3339(&since.get()),
                until: input_to_rfc3339(&until.get()),
                limit: None,
                cursor: None,
            })
        }
    };
    let clear = move |_| {
        set_actions.set(Vec::new());
        set_actor.set(String::new());
        set_rtype.set(String::new());
        set_rid.set(String::new());
        set_since.set(String::new());
        set_until.set(String::new());
        go(AuditQuery::default());
    };
    // The open list closes on Escape and on a click or tap outside it; that click lands on a
    // backdrop, so it never ticks or presses what lies underneath.
    let (menu_open, set_menu_open) = signal(false);
    let close_menu = move || {
        if let Some(menu) = action_menu.get_untracked() {
            let _ = menu.remove_attribute("open");
        }
        set_menu_open.set(false);
    };
    view! {
        <form class="filters" on:submit=apply aria-label="Filters">
            <details class="action-filter" node_ref=action_menu
                on:toggle=move |_| set_menu_open.set(action_menu.get_untracked().is_some_and(|m| m.has_attribute("open")))
                on:keydown=move |ev| if ev.key() == "Escape" && menu_open.get_untracked() {
                    ev.prevent_default();
                    close_menu();
                    if let Some(summary) = action_menu.get_untracked().and_then(|m| m.query_selector("summary").ok().flatten()) {
                        use leptos::wasm_bindgen::JsCast;
                        let _ = summary.unchecked_into::<web_sys::HtmlElement>().focus();
                    }
                }>
                <summary>{move || match actions.get().len() { 0 => "Actions: all".to_owned(), n => format!("Actions: {n} selected") }}</summary>
                <Show when=move || menu_open.get()>
                    <div class="popup-backdrop" on:click=move |ev| { ev.prevent_default(); close_menu(); }></div>
                </Show>
                <div class="action-options">
                    {AUDIT_ACTIONS.into_iter().map(|a| view! {
                        <label class="check">
                            <input type="checkbox" value=a
                                prop:checked=move || actions.get().iter().any(|x| x == a)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    set_actions.update(|l| { l.retain(|x| x != a); if on { l.push(a.to_owned()); } });
                                }/>
                            {a}
                        </label>
                    }).collect_view()}
                </div>
            </details>
            <label>"Actor"
                <select prop:value=actor on:change=move |ev| set_actor.set(event_target_value(&ev))>
                    <option value="">"Anyone"</option>
                    // No suspense: it would show nothing while the choices load, and costs the server a task
                    // and two walks of its children per page.
                    {move || Suspend::new(async move {
                        let option = move |choice: ActorChoice| {
                            let selected = choice.id.clone();
                            view! { <option value=choice.id selected=move || actor.get() == selected>{choice.label}</option> }
                        };
                        let actors = actors.await.unwrap_or_default();
                        view! {
                            <optgroup label="People">{actors.people.into_iter().map(option).collect_view()}</optgroup>
                            <optgroup label="Org API keys">{actors.keys.into_iter().map(option).collect_view()}</optgroup>
                        }
                    })}
                </select>
            </label>
            <label>"Resource type"
                <select prop:value=rtype on:change=move |ev| set_rtype.set(event_target_value(&ev))>
                    <option value="">"Any"</option>
                    {RESOURCE_TYPES.into_iter().map(|t| view! { <option value=t selected=move || rtype.get() == t>{t}</option> }).collect_view()}
                </select>
            </label>
            <label>"Resource id"
                <input type="text" prop:value=rid on:input=move |ev| set_rid.set(event_target_value(&ev))/>
            </label>
            <label>"From (UTC)"
                <input type="datetime-local" prop:value=since on:input=move |ev| set_since.set(event_target_value(&ev))/>
            </label>
            <label>"Until (UTC)"
                <input type="datetime-local" prop:value=until on:input=move |ev| set_until.set(event_target_value(&ev))/>
            </label>
            <div class="filter-buttons">
                <button type="submit" class="primary">"Apply filters"</button>
                <button type="button" on:click=clear>"Clear"</button>
            </div>
        </form>
    }
}

fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "∅".into(),
        serde_json::Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// One event: its summary row, and when expanded its changes and metadata.
#[component]
fn EventRows(event: AuditEvent) -> impl IntoView {
    let (open, set_open) = signal(false);
    let actor_email = event.actor.email.clone();
    // A resource reads by what the event names it by (its name, a stream's URL, the email a
    // sign-in tried); the id stays on hover.
    let name = ["name", "url", "email"].iter().find_map(|k| event.metadata.get(*k).and_then(|n| n.as_str())).map(str::to_owned);
    let resource_id = event.resource.id.clone().unwrap_or_default();
    // Signing in and out is about the actor themselves.
    let name = name.or_else(|| (event.resource.id.is_some() && event.resource.id == event.actor.id).then(|| event.actor.name.clone().unwrap_or_else(|| event.actor.label.clone())));
    let resource = match (name, &event.resource.id) {
        (Some(name), _) => format!("{} “{name}”", event.resource.kind),
        (None, Some(id)) => format!("{} {id}", event.resource.kind),
        (None, None) => event.resource.kind.clone(),
    };
    let label = format!("Details of {} at {}", event.action, event.created_at);
    let changes = event.changes.clone();
    let metadata: Vec<(String, String)> = event
        .metadata
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), show_value(v))).collect())
        .unwrap_or_default();
    let user_agent = event.user_agent.clone();
    let expand = NodeRef::<leptos::html::Button>::new();
    // A key is named once, by its label, and marked as a key.
    let (actor, is_key) = match event.actor.kind.as_str() {
        "api_key" => (event.actor.label.clone(), true),
        _ => (event.actor.name.clone().unwrap_or_else(|| event.actor.label.clone()), false),
    };
    view! {
        <tbody class="event" class:open=open
            on:keydown=move |ev| if ev.key() == "Escape" && open.get_untracked() {
                set_open.set(false);
                if let Some(button) = expand.get_untracked() {
                    let _ = button.focus();
                }
            }>
            <tr>
                <td class="expand-cell">
                    <button type="button" class="expand" node_ref=expand aria-label=label aria-expanded=move || open.get().to_string()
                        on:click=move |_| set_open.update(|o| *o = !*o)>
                        {move || if open.get() { "▾" } else { "▸" }}
                    </button>
                </td>
                <td class="time" data-label="Time"><RelativeTime at=event.created_at.clone()/></td>
                <td class="actor" data-label="Actor">
                    <span class="actor-name">{actor}</span>
                    {actor_email.map(|e| view! { <span class="muted actor-email">" "{e}</span> })}
                    {is_key.then(|| view! { " "<span class="badge">"API key"</span> })}
                </td>
                <td class="action"><code>{event.action.clone()}</code></td>
                <td class="resource" title=resource_id>{resource}</td>
                <td class="ip" data-label="IP">{event.ip.clone().unwrap_or_default()}</td>
            </tr>
            <Show when=move || open.get()>
                <tr class="details">
                    <td></td>
                    <td colspan="5">
                        {if changes.is_empty() {
                            view! { <p class="muted">"No field changes."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="changes">
                                    {changes.iter().map(|c| view! {
                                        <li><code>{c.path.clone()}</code>": "{show_value(&c.before)}" → "{show_value(&c.after)}</li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        <dl class="metadata">
                            {metadata.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
                            {user_agent.clone().map(|ua| view! { <dt>"user agent"</dt><dd>{ua}</dd> })}
                        </dl>
                    </td>
                </tr>
            </Show>
        </tbody>
    }
    .into_any()
}

/// The trail's integrity: its latest signed checkpoint, and a verification on demand. The panel
/// starts folded, so the checkpoint is fetched when it is first opened, not with every page.
#[component]
fn IntegrityPanel(org: Memo<String>) -> impl IntoView {
    let verify = ServerAction::<VerifyTrail>::new();
    let panel = NodeRef::<leptos::html::Details>::new();
    let (opened, set_opened) = signal(false);
    let on_toggle = move |_| {
        if panel.get().is_some_and(|p| p.has_attribute("open")) {
            set_opened.set(true);
        }
    };
    view! {
        <details class="integrity" node_ref=panel on:toggle=on_toggle>
            <summary>"Integrity"</summary>
            <p class="muted">"Every event is chained by SHA-256 to the one before it, and the chain is signed (Ed25519) at checkpoints. Anyone can check an export with "<code>"scripts/verify_audit.py"</code>" and the key at "<code>"/api/v1/audit/signing-key"</code>"."</p>
            {move || opened.get().then(|| view! { <LatestCheckpoint org verify/> })}
            <button type="button" on:click=move |_| { verify.dispatch(VerifyTrail { org: org.get_untracked() }); } disabled=move || verify.pending().get()>
                {move || if verify.pending().get() { "Verifying…" } else { "Verify now" }}
            </button>
            <div role="status" aria-live="polite">
                {move || verify.value().get().map(|result| match result {
                    Ok(r) if r.ok => view! { <p class="form-ok">{format!("Verified: {} and {}, all intact.", count(r.events_checked, "event"), count(r.checkpoints_checked, "checkpoint"))}</p> }.into_any(),
                    Ok(r) => view! { <p class="form-error">{format!("Broken at event {}: {}", r.first_bad_seq.unwrap_or_default(), r.reason.unwrap_or_default())}</p> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.for_people()}</p> }.into_any(),
                })}
            </div>
        </details>
    }
}

/// The latest checkpoint, fetched again after each verification (which may sign a new one).
#[component]
fn LatestCheckpoint(org: Memo<String>, verify: ServerAction<VerifyTrail>) -> impl IntoView {
    let latest = Resource::new(move || (org.get(), verify.version().get()), |(org, _)| latest_checkpoint(org));
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match latest.await {
                    Ok(Some(c)) => view! { <p>"Last checkpoint: event "{c.seq}", "<RelativeTime at=c.created_at/>" · "<code class="hash">{c.hash[..16].to_owned()}"…"</code></p> }.into_any(),
                    Ok(None) => view! { <p>"No checkpoint yet: the first is signed after 1,000 events, within an hour, or now by verifying."</p> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
