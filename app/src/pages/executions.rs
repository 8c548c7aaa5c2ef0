//! Executions: every run with who ran it (the credential as it was) and the version that ran,
//! filters in the URL; one run's detail with its steps.

use crate::components::error_panel::ErrorPanel;
use crate::components::shell::{membership, Session};
use crate::components::time::RelativeTime;
use crate::model::{CredentialDescriptor, Execution, ExecutionQuery, Role, CREDENTIAL_TYPES, EXECUTION_STATUSES};
use crate::server_fns::executions::{get_execution, list_executions};
use crate::server_fns::workflows::list_workflows;
use leptos::prelude::*;
use leptos_meta::Title;

fn filters_from_url() -> Memo<ExecutionQuery> {
    let query = crate::location::query();
    Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
        ExecutionQuery { workflow_id: get("workflow_id"), status: get("status"), credential_type: get("credential_type"), limit: None, cursor: None }
    })
}

/// Whether the signed-in user is an owner or admin of `org` (they may open version previews).
async fn is_admin(session: Session, org: String) -> bool {
    session.info().await.and_then(|i| membership(&i, &org).map(|m| m.role >= Role::Admin)).unwrap_or(false)
}

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    let org = super::org_param();
    let filters = filters_from_url();
    let first = Resource::new(move || (org.get(), filters.get()), |(org, q)| list_executions(org, q));
    let extra = RwSignal::new(Vec::<Execution>::new());
    let next = RwSignal::new(None::<String>);
    let loading_more = RwSignal::new(false);
    let session = super::session();
    Effect::new(move |_| {
        if let Some(Ok(page)) = first.get() {
            extra.set(Vec::new());
            next.set(page.next_cursor);
            // Runs still going on the first page: read it again in two seconds.
            if page.executions.iter().any(|e| e.status == "queued" || e.status == "running") {
                set_timeout(move || first.refetch(), std::time::Duration::from_secs(2));
            }
        }
    });
    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else { return };
        loading_more.set(true);
        let query = ExecutionQuery { cursor: Some(cursor), ..filters.get_untracked() };
        leptos::task::spawn_local(async move {
            if let Ok(page) = list_executions(org.get_untracked(), query).await {
                extra.update(|e| e.extend(page.executions));
                next.set(page.next_cursor);
            }
            loading_more.set(false);
        });
    };
    view! {
        <Title text="Executions · Chronicle"/>
        <section class="panel">
            <h1>"Executions"</h1>
            {session.view(
                move |session| {
                    let info = session.ok().flatten();
                    let admin = move || info.as_ref().and_then(|i| membership(i, &org.get())).is_some_and(|m| m.role >= Role::Admin);
                    view! {
                        <p class="muted">{move || if admin() { "Every run in this organisation, newest first." } else { "Your runs, newest first." }}</p>
                    }
                    .into_any()
                },
            )}
            <FilterBar org filters/>
            <Transition fallback=|| view! { <p class="loading">"Loading executions…"</p> }>
                {move || Suspend::new(async move {
                    let admin = is_admin(session, org.get()).await;
                    match first.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(page) if page.executions.is_empty() => view! {
                            <p class="empty-state">"No runs match. Run a workflow from its editor, the API or a webhook."</p>
                        }.into_any(),
                        Ok(page) => view! {
                            <div class="table-scroll">
                                <table class="table executions">
                                    <thead><tr>
                                        <th>"Status"</th><th>"Workflow"</th><th>"Trigger"</th><th>"Run by"</th><th>"Version"</th><th>"Started"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.executions.into_iter().map(|e| view! { <ExecutionRow org=org.get_untracked() execution=e admin/> }).collect_view()}
                                        <For each=move || extra.get() key=|e| e.id.clone() let:execution>
                                            <ExecutionRow org=org.get_untracked() execution admin/>
                                        </For>
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=move || next.get().is_some()>
                <button type="button" class="load-more" on:click=load_more disabled=move || loading_more.get()>
                    {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                </button>
            </Show>
        </section>
    }
}

#[component]
fn FilterBar(org: Memo<String>, filters: Memo<ExecutionQuery>) -> impl IntoView {
    let workflows = Resource::new(move || org.get(), list_workflows);
    let set = move |key: &'static str, value: String| {
        let mut q = filters.get_untracked();
        let value = Some(value).filter(|v| !v.is_empty());
        match key {
            "workflow_id" => q.workflow_id = value,
            "status" => q.status = value,
            _ => q.credential_type = value,
        }
        let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
        crate::location::set_query(&qs, false);
    };
    let current = move |key: &'static str| {
        let q = filters.get();
        match key {
            "workflow_id" => q.workflow_id,
            "status" => q.status,
            _ => q.credential_type,
        }
        .unwrap_or_default()
    };
    let (set_w, set_s, set_c) = (set.clone(), set.clone(), set);
    view! {
        <form class="filters execution-filters" on:submit=|ev| ev.prevent_default()>
            <label>"Workflow"
                <select on:change=move |ev| set_w("workflow_id", event_target_value(&ev)) prop:value=move || current("workflow_id")>
                    <option value="">"All workflows"</option>
                    // No suspense: it would show nothing while the choices load, and costs the server a task
                    // and two walks of its children per page.
                    {move || Suspend::new(async move {
                        workflows.await.unwrap_or_default().into_iter().map(|w| {
                            let id = w.id.clone();
                            view! { <option value=w.id selected=move || current("workflow_id") == id>{w.name}</option> }
                        }).collect_view()
                    })}
                </select>
            </label>
            <label>"Status"
                <select on:change=move |ev| set_s("status", event_target_value(&ev)) prop:value=move || current("status")>
                    <option value="">"Any status"</option>
                    {EXECUTION_STATUSES.into_iter().map(|s| view! { <option value=s selected=move || current("status") == s>{s}</option> }).collect_view()}
                </select>
            </label>
            <label>"Credential"
                <select on:change=move |ev| set_c("credential_type", event_target_value(&ev)) prop:value=move || current("credential_type")>
                    <option value="">"Any credential"</option>
                    {CREDENTIAL_TYPES.into_iter().map(|t| {
                        let title = CredentialDescriptor { kind: t.into(), id: None, label: String::new() }.kind_title();
                        view! { <option value=t selected=move || current("credential_type") == t>{title}</option> }
                    }).collect_view()}
                </select>
            </label>
        </form>
    }
}

/// "Org key · CI deploy (chr_org_…a1b2)": the kind as a badge, then the label as it was.
#[component]
pub fn RunBy(credential: CredentialDescriptor) -> impl IntoView {
    view! {
        <span class="run-by">
            <span class=format!("badge credential {}", credential.kind)>{credential.kind_title()}</span>
            " · "{credential.label}
        </span>
    }
}

/// "v7", linking to that exact snapshot in the editor's read-only preview (owners, admins).
#[component]
fn VersionLink(org: String, execution: Execution, admin: bool) -> impl IntoView {
    match execution.version {
        Some(v) if admin => {
            let href = format!("/orgs/{org}/workflows/{}?version={v}", execution.workflow_id);
            view! { <a href=href title=format!("Open version {v}, the one that ran, read-only")>{format!("v{v}")}</a> }.into_any()
        }
        Some(v) => view! { <span>{format!("v{v}")}</span> }.into_any(),
        None => view! { <span class="muted" title="No version has this content hash">"—"</span> }.into_any(),
    }
}

#[component]
fn ExecutionRow(org: String, execution: Execution, admin: bool) -> impl IntoView {
    let detail = format!("/orgs/{org}/executions/{}", execution.id);
    let (status, class) = (execution.status.clone(), format!("status {}", execution.status));
    view! {
        <tr>
            <td><a href=detail class=class>{status}</a></td>
            <td>{execution.workflow_name.clone()}</td>
            <td>{execution.trigger.clone()}</td>
            <td><RunBy credential=execution.credential.clone()/></td>
            <td><VersionLink org=org.clone() execution=execution.clone() admin/></td>
            <td><RelativeTime at=execution.created_at.clone()/></td>
        </tr>
    }
}

#[component]
pub fn ExecutionDetailPage() -> impl IntoView {
    let org = super::org_param();
    let id = super::route_param("id");
    let execution = Resource::new(move || (org.get(), id.get()), |(org, id)| get_execution(org, id));
    let session = super::session();
    // A run still going is read again every second until it ends.
    Effect::new(move |_| {
        let active = execution.get().and_then(Result::ok).is_some_and(|e| e.status == "queued" || e.status == "running");
        if active {
            set_timeout(move || execution.refetch(), std::time::Duration::from_secs(1));
        }
    });
    view! {
        <Title text="Execution · Chronicle"/>
        <Transition fallback=|| view! { <p class="loading">"Loading execution…"</p> }>
            {move || Suspend::new(async move {
                let admin = is_admin(session, org.get()).await;
                match execution.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(e) => {
                        let org = org.get_untracked();
                        let steps = e.steps.clone().unwrap_or_default();
                        let active = e.status == "queued" || e.status == "running";
                        view! {
                            <section class="panel execution-detail">
                                <p><a href=format!("/orgs/{org}/executions")>"← Executions"</a></p>
                                <h1>{format!("Run of {}", e.workflow_name)}</h1>
                                <dl class="facts">
                                    <dt>"Status"</dt><dd><span class=format!("status {}", e.status)>{e.status.clone()}</span></dd>
                                    <dt>"Trigger"</dt><dd>{e.trigger.clone()}</dd>
                                    <dt>"Run by"</dt><dd><RunBy credential=e.credential.clone()/></dd>
                                    <dt>"Version"</dt><dd><VersionLink org=org.clone() execution=e.clone() admin/>" · "<code class="hash">{e.executed_workflow_hash[..12.min(e.executed_workflow_hash.len())].to_owned()}</code></dd>
                                    <dt>"Queued"</dt><dd><RelativeTime at=e.created_at.clone()/></dd>
                                    <dt>"Finished"</dt><dd>{e.finished_at.clone().map(|t| view! { <RelativeTime at=t/> }.into_any()).unwrap_or_else(|| view! { <span class="muted">"Not yet"</span> }.into_any())}</dd>
                                </dl>
                                {e.error.clone().map(|err| view! { <p class="form-error" role="alert">{err}</p> })}
                                {active.then(|| view! { <p class="muted" role="status">"This run is still going; this page follows it."</p> })}
                                <h2>"Steps"</h2>
                                {if steps.is_empty() {
                                    view! { <p class="empty-state">"No step has run yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <ol class="steps">
                                            {steps.into_iter().map(|s| view! {
                                                <li class=format!("step {}", s.status)>
                                                    <div class="step-head">
                                                        <strong>{s.label.clone()}</strong>
                                                        <span class="muted">{format!(" {} · {}", s.kind, s.node_id)}</span>
                                                        <span class=format!("badge status {}", s.status)>{s.status.clone()}</span>
                                                        <span class="muted">{duration(&s.started_at, &s.finished_at)}</span>
                                                    </div>
                                                    {s.error.clone().map(|err| view! { <p class="step-error">{err}</p> })}
                                                    {s.output.clone().map(|out| view! {
                                                        <details><summary>"Output"</summary><pre>{serde_json::to_string_pretty(&out).unwrap_or_default()}</pre></details>
                                                    })}
                                                </li>
                                            }).collect_view()}
                                        </ol>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// "12 ms", "1.4 s": how long a step took.
fn duration(started: &str, finished: &str) -> String {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match (parse(started), parse(finished)) {
        (Some(a), Some(b)) => {
            let ms = (b - a).num_milliseconds().max(0);
            if ms < 1000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1000.0) }
        }
        _ => String::new(),
    }
}
