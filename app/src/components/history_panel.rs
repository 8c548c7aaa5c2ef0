//! The Version history overlay: a timeline of versions newest first (infinite scroll), found by
//! name, the selected version's change list and name, a compare picker, "View on canvas",
//! and — beside a member's pending version, for owners and admins other than its author —
//! Approve and Reject (four eyes).

use super::diff_view::DiffView;
use super::time::RelativeTime;
use crate::error::ApiError;
use crate::model::{ApprovalState, VersionInfo, VersionSource};
use crate::server_fns::workflows::{compare_versions, name_version, review_version, workflow_history, workflow_version_change};
use crate::workflow::WorkflowDiff;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Debug, Clone, PartialEq)]
enum Detail {
    Version(i64),
    Compare(i64, i64),
}

#[component]
pub fn HistoryPanel(
    org: String,
    id: String,
    #[prop(into)] current_version: Signal<i64>,
    /// The signed-in person: their own pending versions offer no Approve.
    viewer: Option<String>,
    /// A version was approved or rejected here.
    on_reviewed: Callback<VersionInfo>,
    on_preview: Callback<VersionInfo>,
    on_close: Callback<()>,
) -> AnyView {
    let versions = RwSignal::new(Vec::<VersionInfo>::new());
    let next_cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let done = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let detail = RwSignal::new(None::<Detail>);
    let compare_from = RwSignal::new(None::<i64>);
    let compare_to = RwSignal::new(None::<i64>);
    // The name searched for ("" for every version); a new search starts the list again.
    let search = RwSignal::new(String::new());
    // The version last named here, for its "Name saved." (the form is drawn again with the name).
    let just_named = RwSignal::new(None::<i64>);
    let dialog = NodeRef::<html::Div>::new();
    // How many runs each version had (the panel opens in the browser: a local resource).
    let runs = {
        let (org, id) = (org.clone(), id.clone());
        LocalResource::new(move || crate::server_fns::executions::runs_by_version(org.clone(), id.clone()))
    };
    let runs_of = move |n: i64| runs.get().and_then(|r| r.ok()).and_then(|r| r.iter().find(|(v, _)| *v == n).map(|(_, c)| *c)).unwrap_or(0);

    let load_more = {
        let (org, id) = (org.clone(), id.clone());
        move || {
            if loading.get_untracked() || done.get_untracked() {
                return;
            }
            loading.set(true);
            let (org, id, cursor, named) = (org.clone(), id.clone(), next_cursor.get_untracked(), search.get_untracked());
            spawn_local(async move {
                let asked = named.clone();
                match workflow_history(org, id, cursor, Some(named)).await {
                    // A newer search has started meanwhile: its answer is the one that counts.
                    Ok(_) if search.try_get_untracked().as_ref() != Some(&asked) => return,
                    Ok(page) => {
                        let first = versions.with_untracked(Vec::is_empty);
                        versions.update(|v| v.extend(page.versions));
                        done.set(page.next_cursor.is_none());
                        next_cursor.set(page.next_cursor);
                        if first {
                            if let Some(top) = versions.with_untracked(|v| v.first().map(|v| v.version)) {
                                detail.set(Some(Detail::Version(top)));
                            }
                        }
                    }
                    Err(e) => error.set(Some(e)),
                }
                loading.set(false);
            });
        }
    };
    let load_first = load_more.clone();
    let search_again = {
        let load = load_more.clone();
        move |named: String| {
            search.set(named);
            versions.set(Vec::new());
            next_cursor.set(None);
            done.set(false);
            loading.set(false);
            load();
        }
    };
    // A version reviewed or named here: its entry in the timeline is the server's answer.
    let replace_entry = move |info: &VersionInfo| {
        versions.update(|v| {
            if let Some(slot) = v.iter_mut().find(|x| x.version == info.version) {
                *slot = info.clone();
            }
        });
    };
    let named = Callback::new(move |info: VersionInfo| {
        replace_entry(&info);
        just_named.set(Some(info.version));
    });
    // Load the first page once; focus the dialog once it is in the page.
    Effect::new(move |first_run: Option<()>| {
        if first_run.is_none() {
            load_first();
        }
        if let Some(el) = dialog.get() {
            let _ = el.focus();
        }
    });
    // Escape closes the overlay wherever the focus is (a click inside may have moved it to
    // something the overlay re-rendered since); Tab stays inside it (a modal dialog).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| match ev.key().as_str() {
        "Escape" => on_close.run(()),
        "Tab" => {
            if let Some(el) = dialog.get_untracked() {
                keep_focus_inside(&el, &ev);
            }
        }
        _ => {}
    });
    on_cleanup(move || escape.remove());

    let (org_d, id_d) = (org.clone(), id.clone());
    let change = LocalResource::new(move || {
        let (org, id, d) = (org_d.clone(), id_d.clone(), detail.get());
        async move {
            match d {
                None => Ok::<Option<WorkflowDiff>, ApiError>(None),
                Some(Detail::Version(n)) => workflow_version_change(org, id, n).await.map(Some),
                Some(Detail::Compare(a, b)) => compare_versions(org, id, a, b).await.map(|d| Some(d.diff)),
            }
        }
    });

    let selected_info = move || match detail.get() {
        Some(Detail::Version(n)) => versions.with(|v| v.iter().find(|x| x.version == n).cloned()),
        _ => None,
    };
    let load_on_scroll = load_more.clone();
    let on_scroll = move |ev: leptos::ev::Event| {
        let el: web_sys::HtmlElement = event_target(&ev);
        if el.scroll_top() + el.client_height() >= el.scroll_height() - 60 {
            load_on_scroll();
        }
    };
    // A review replaces the version's entry and tells the editor.
    let reviewed = Callback::new(move |info: VersionInfo| {
        replace_entry(&info);
        on_reviewed.run(info);
    });
    let (org_r, id_r) = (org.clone(), id.clone());
    let version_options = move || versions.get().into_iter().map(|v| view! { <option value=v.version>{format!("v{}", v.version)}</option> }).collect_view();

    view! {
        <div class="overlay-backdrop" on:click=move |_| on_close.run(())></div>
        <div
            class="overlay history"
            role="dialog"
            aria-modal="true"
            aria-label="Version history"
            tabindex="-1"
            node_ref=dialog
        >
            <header class="overlay-head">
                <h2>"Version history"</h2>
                <div class="compare">
                    <label>"From " <select aria-label="Compare from" on:change=move |ev| compare_from.set(event_target_value(&ev).parse().ok())>
                        <option value="">"—"</option>{version_options}</select></label>
                    <label>" to " <select aria-label="Compare to" on:change=move |ev| compare_to.set(event_target_value(&ev).parse().ok())>
                        <option value="">"—"</option>{version_options}</select></label>
                    <button type="button" disabled=move || compare_from.get().is_none() || compare_to.get().is_none()
                        on:click=move |_| if let (Some(a), Some(b)) = (compare_from.get(), compare_to.get()) { detail.set(Some(Detail::Compare(a, b))) }>
                        "Compare"
                    </button>
                </div>
                <button type="button" class="close" on:click=move |_| on_close.run(())>"Close"</button>
            </header>
            <div class="overlay-body">
                <div class="timeline-pane">
                <label class="timeline-search">"Find a named version"
                    <input type="search" placeholder="e.g. launch" prop:value=move || search.get()
                        on:change=move |ev| search_again(event_target_value(&ev))/>
                </label>
                <ol class="timeline" aria-label="Versions" on:scroll=on_scroll>
                    <For each=move || versions.get() key=|v| (v.version, v.approval.state, v.label.clone()) let:v>
                        {
                            let n = v.version;
                            let is_current = move || current_version.get() == n;
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        class="version-item"
                                        class:active=move || detail.get() == Some(Detail::Version(n))
                                        aria-label=format!("Version {n}")
                                        on:click=move |_| detail.set(Some(Detail::Version(n)))
                                    >
                                        <span class="version-no">{format!("v{n}")}</span>
                                        <Show when=is_current><span class="badge current">"Current"</span></Show>
                                        <span class=format!("badge source-{}", v.source.as_str())>{source_title(v.source)}</span>
                                        <span class="version-author">{v.actor.name.clone().unwrap_or(v.actor.label.clone())}</span>
                                        <RelativeTime at=v.created_at.clone()/>
                                        {move || match runs_of(n) {
                                            0 => None,
                                            k => Some(view! { <span class="badge runs">{super::count::count(k, "run")}</span> }),
                                        }}
                                        {approval_badge(v.approval.state)}
                                        {v.label.clone().map(|l| view! { <span class="version-label">{l}</span> })}
                                    </button>
                                </li>
                            }
                        }
                    </For>
                    <li class="timeline-foot">
                        {move || if loading.get() {
                            view! { <span class="muted">"Loading…"</span> }.into_any()
                        } else if done.get() && !search.get().trim().is_empty() {
                            let n = versions.with(Vec::len) as i64;
                            view! { <span class="muted">{format!("{} named like “{}”.", super::count::count(n, "version"), search.get().trim())}</span> }.into_any()
                        } else if done.get() {
                            view! { <span class="muted">"That's the first version."</span> }.into_any()
                        } else {
                            let more = load_more.clone();
                            view! { <button type="button" on:click=move |_| more()>"Load more"</button> }.into_any()
                        }}
                    </li>
                </ol>
                </div>
                <section class="version-detail" aria-live="polite">
                    {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
                    {move || match detail.get() {
                        Some(Detail::Compare(a, b)) => view! { <h3>{format!("Changes from v{a} to v{b}")}</h3> }.into_any(),
                        _ => selected_info().map(|v| {
                            let info = v.clone();
                            let is_current = v.version == current_version.get_untracked();
                            let may_review = v.approval.state == ApprovalState::Pending && v.actor.id.is_some() && v.actor.id != viewer;
                            view! {
                                <h3>{format!("Version {} · {}", v.version, v.actor.name.clone().unwrap_or(v.actor.label.clone()))} " " {approval_badge(v.approval.state)}</h3>
                                {approval_note(&v)}
                                {may_review.then(|| view! { <Review org=org_r.clone() id=id_r.clone() version=v.version on_done=reviewed error/> })}
                                <NameForm org=org_r.clone() id=id_r.clone() version=v.version label=v.label.clone().unwrap_or_default() on_done=named just_named error/>
                                <p class="muted">"Changes against the version before it."</p>
                                {if is_current {
                                    view! { <p class="muted">"This is the current version: the editor shows it."</p> }.into_any()
                                } else {
                                    view! { <button type="button" class="primary" on:click=move |_| on_preview.run(info.clone())>"View on canvas"</button> }.into_any()
                                }}
                            }.into_any()
                        }).unwrap_or_else(|| ().into_any()),
                    }}
                    <Suspense fallback=|| view! { <p class="loading">"Loading changes…"</p> }>
                        {move || Suspend::new(async move {
                            match change.await {
                                Ok(Some(d)) => view! { <DiffView diff=d/> }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(e) => view! { <p class="form-error" role="alert">{e.for_people()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                </section>
            </div>
        </div>
    }
    .into_any()
}

fn approval_badge(state: ApprovalState) -> Option<AnyView> {
    match state {
        ApprovalState::Approved => None,
        ApprovalState::Pending => Some(view! { <span class="badge pending">"Pending approval"</span> }.into_any()),
        ApprovalState::Rejected => Some(view! { <span class="badge rejected">"Rejected"</span> }.into_any()),
    }
}

/// Who reviewed a version, or what waiting means.
fn approval_note(v: &VersionInfo) -> Option<AnyView> {
    let by = v.approval.by.as_ref().map(|b| b.name.clone()).unwrap_or_default();
    match v.approval.state {
        ApprovalState::Pending => Some(view! {
            <p class="notice">"Waiting for an owner or admin other than its author. Runs keep using the latest approved version until then."</p>
        }.into_any()),
        ApprovalState::Rejected => Some(view! {
            <p class="muted">{format!("Rejected by {by}")}{v.approval.reason.clone().map(|r| format!(": {r}"))}</p>
        }.into_any()),
        ApprovalState::Approved if v.approval.by.as_ref().is_some_and(|b| b.id != v.actor.id) => {
            Some(view! { <p class="muted">{format!("Approved by {by}")}</p> }.into_any())
        }
        ApprovalState::Approved => None,
    }
}

/// The version's name: set, changed or (emptied) cleared.
#[component]
fn NameForm(
    org: String,
    id: String,
    version: i64,
    label: String,
    on_done: Callback<VersionInfo>,
    just_named: RwSignal<Option<i64>>,
    error: RwSignal<Option<ApiError>>,
) -> impl IntoView {
    let text = RwSignal::new(label);
    let busy = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (org, id, label) = (org.clone(), id.clone(), text.get_untracked());
        busy.set(true);
        just_named.set(None);
        error.set(None);
        spawn_local(async move {
            match name_version(org, id, version, label).await {
                Ok(info) => on_done.run(info),
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <form class="version-name-form" on:submit=save>
            <label>"Version name"
                <input type="text" maxlength="100" placeholder="e.g. Before the launch" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))/>
            </label>
            <button type="submit" disabled=move || busy.get()>"Save name"</button>
            <Show when=move || just_named.get() == Some(version)><span class="form-ok" role="status">"Name saved."</span></Show>
        </form>
    }
}

/// Approve, or reject with a reason.
#[component]
fn Review(org: String, id: String, version: i64, on_done: Callback<VersionInfo>, error: RwSignal<Option<ApiError>>) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let decide = move |approve: bool| {
        let (org, id) = (org.clone(), id.clone());
        let why = Some(reason.get_untracked().trim().to_owned()).filter(|r| !r.is_empty());
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match review_version(org, id, version, approve, why).await {
                Ok(info) => on_done.run(info),
                Err(e) => error.set(Some(e)),
            }
            busy.try_set(false);
        });
    };
    let reject = decide.clone();
    view! {
        <div class="review" role="group" aria-label=format!("Review version {version}")>
            <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| decide(true)>"Approve"</button>
            <label class="review-reason">"Reason (for a rejection)"
                <input type="text" maxlength="1000" placeholder="e.g. points the token at an unknown host"
                    prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
            </label>
            <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| reject(false)>"Reject"</button>
        </div>
    }
}

/// Tab from the last control goes to the first, Shift+Tab from the first to the last, and a
/// focus that escaped the dialog comes back into it.
fn keep_focus_inside(dialog: &web_sys::HtmlElement, ev: &web_sys::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    let Ok(found) = dialog.query_selector_all("button:not([disabled]), select:not([disabled]), input:not([disabled]), a[href], [tabindex=\"0\"]") else {
        return;
    };
    let controls: Vec<web_sys::HtmlElement> = (0..found.length()).filter_map(|i| found.item(i)).filter_map(|n| n.dyn_into().ok()).collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
    let active = document().active_element();
    let is = |el: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>());
    let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a.unchecked_ref())) && a != dialog.unchecked_ref::<web_sys::Element>());
    let to = match (ev.shift_key(), inside) {
        (true, false) => Some(last),
        (false, false) => Some(first),
        (true, true) if is(first) => Some(last),
        (false, true) if is(last) => Some(first),
        _ => None,
    };
    if let Some(to) = to {
        ev.prevent_default();
        let _ = to.focus();
    }
}

pub fn source_title(s: VersionSource) -> &'static str {
    match s {
        VersionSource::Create => "created",
        VersionSource::Update => "edited",
        VersionSource::Restore => "restored",
        VersionSource::Api => "API",
    }
}
