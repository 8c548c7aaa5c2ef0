//! The workflow editor: canvas, palette, side panel, autosave, and — for owners and admins —
//! version history with read-only preview and restore.

use crate::components::autosave::{Outcome, Saver, Snapshot, Waiting};
use crate::components::canvas::{delete_selection, fit, Canvas, EditKind, Mark, Selection, Viewport, MAX_ZOOM, MIN_ZOOM, NODE_H, NODE_W};
use crate::components::error_panel::ErrorPanel;
use crate::components::history_panel::HistoryPanel;
use crate::components::node_panel::NodePanel;
use crate::components::shell::membership;
use crate::components::time::relative;
use crate::model::{ApprovalState, Execution, Role, VersionInfo, Workflow};
use crate::server_fns::executions::{get_version_info, run_workflow};
use crate::server_fns::workflows::{get_workflow, restore_workflow, workflow_version};
use crate::workflow::catalog::CATALOG;
use crate::workflow::{diff, Definition, Node, NodeData, Position};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use std::collections::HashMap;
use std::time::Duration;

const AUTOSAVE_PAUSE: Duration = Duration::from_millis(700);
/// A field being typed in saves after a longer pause, so one sentence is one version.
const TYPING_PAUSE: Duration = Duration::from_millis(2000);

#[component]
pub fn WorkflowEditorPage() -> impl IntoView {
    let org = super::org_param();
    let id = super::route_param("id");
    let session = super::session();
    let workflow = Resource::new(move || (org.get(), id.get()), |(org, id)| get_workflow(org, id));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading workflow…"</p> }>
            {move || Suspend::new(async move {
                let info = session.info().await;
                let role = info.as_ref().and_then(|i| membership(i, &org.get()).map(|m| m.role)).unwrap_or(Role::Member);
                let user_id = info.map(|i| i.user.id);
                match workflow.await {
                    Ok(w) => view! { <Editor workflow=w role user_id/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The first place from `start` (the visible top left), down then right, where a new node
/// covers no other.
fn free_spot(d: &Definition, start: Position) -> Position {
    let (step_x, step_y) = (NODE_W + 40.0, NODE_H + 24.0);
    let taken = |p: &Position| d.nodes.iter().any(|n| (n.position.x - p.x).abs() < step_x && (n.position.y - p.y).abs() < step_y);
    (0..8)
        .flat_map(|col| (0..6).map(move |row| Position { x: start.x + col as f64 * step_x, y: start.y + row as f64 * step_y }))
        .find(|p| !taken(p))
        .unwrap_or(Position { x: start.x + 24.0 * d.nodes.len() as f64, y: start.y })
}

#[derive(Debug, Clone, PartialEq)]
enum SaveState {
    Saved { version: i64, versioned: bool, approval: Waiting },
    Pending,
    Saving,
    Failed(String),
    /// Someone else saved `current` since the version this editor started from.
    Conflict { message: String, current: i64 },
}

/// What is being previewed: the version, and how it differs from now: its nodes changed or
/// removed since are marked; nodes added since are not in it, so they are only named.
#[derive(Debug, Clone)]
struct Preview {
    info: VersionInfo,
    marks: HashMap<String, Mark>,
    added_since: Vec<String>,
}

#[component]
fn Editor(workflow: Workflow, role: Role, user_id: Option<String>) -> AnyView {
    let Workflow { id, org_id: org, name: initial_name, nodes, edges, version: initial_version, approval, approved_version, .. } = workflow;
    let graph = RwSignal::new(Definition { nodes, edges });
    let name = RwSignal::new(initial_name);
    let version = RwSignal::new(initial_version);
    let waiting = Waiting { pending: approval.state == ApprovalState::Pending, approved_version };
    let save_state = RwSignal::new(SaveState::Saved { version: initial_version, versioned: true, approval: waiting });
    let selected = RwSignal::new(None::<Selection>);
    let view_port = RwSignal::new(Viewport::default());
    let preview = RwSignal::new(None::<Preview>);
    let preview_graph = RwSignal::new(Definition::default());
    let notice = RwSignal::new(None::<String>);
    let edit_seq = StoredValue::new(0u64);

    let saver = Saver::new(org.clone(), id.clone(), initial_version, move |outcome| {
        // The editor may be gone by now (a save made on the way out): every touch is a `try_`.
        let state = match outcome {
            Outcome::Saved { seq, version: made, versioned, approval } => {
                version.try_set(made);
                let latest = edit_seq.try_get_value() == Some(seq) && save_state.try_get_untracked() == Some(SaveState::Saving);
                if !latest {
                    return;
                }
                SaveState::Saved { version: made, versioned, approval }
            }
            Outcome::Conflict { message, current } => SaveState::Conflict { message, current },
            Outcome::Failed(message) => SaveState::Failed(message),
        };
        save_state.try_set(state);
    });
    // What is on the canvas now, if anything is unsaved. Nothing leaves the browser while an
    // old version is on the canvas, nor over a conflict the person has not settled.
    let unsaved = move || {
        (preview.get_untracked().is_none() && save_state.get_untracked() == SaveState::Pending)
            .then(|| Snapshot { seq: edit_seq.get_value(), name: name.get_untracked(), definition: graph.get_untracked() })
    };
    let flush = {
        let saver = saver.clone();
        move || {
            if let Some(snapshot) = unsaved() {
                save_state.set(SaveState::Saving);
                saver.save(snapshot);
            }
        }
    };
    // Edits never wait on a timer alone: leaving the page (a link, Back, a closed tab, a
    // reload) sends them at once, and a reload or close asks first while one is on its way.
    {
        let (on_hide, on_close, on_leave) = (flush.clone(), flush.clone(), flush.clone());
        let busy = saver.clone();
        let hidden = window_event_listener_untyped("visibilitychange", move |_| on_hide());
        let pagehide = window_event_listener_untyped("pagehide", move |_| on_close());
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            on_leave();
            if busy.busy() {
                ev.prevent_default();
            }
        });
        // Leaving: the save goes out without touching a signal (an effect woken now would run
        // after the editor's signals are gone).
        let last = saver.clone();
        on_cleanup(move || {
            hidden.remove();
            pagehide.remove();
            unload.remove();
            if let Some(snapshot) = unsaved() {
                last.save(snapshot);
            }
        });
    }
    let on_edit = Callback::new({
        let flush = flush.clone();
        let here = format!("/orgs/{org}/workflows/{id}");
        move |kind: EditKind| {
            if preview.get_untracked().is_some() {
                return;
            }
            // A field removed with its page while focused (Back, a link from elsewhere) still
            // reports its `change` — after the URL has moved on. Its edit is in the model
            // already and leaving saves it; a write now would wake effects of a page that is
            // being torn down.
            if window().location().pathname().ok().as_deref() != Some(here.as_str()) {
                return;
            }
            if notice.with_untracked(Option::is_some) {
                notice.set(None);
            }
            // Over a conflict the edit stays local until the person chooses.
            if !matches!(save_state.get_untracked(), SaveState::Conflict { .. } | SaveState::Pending) {
                save_state.set(SaveState::Pending);
            }
            edit_seq.update_value(|s| *s += 1);
            let mine = edit_seq.get_value();
            let pause = if kind == EditKind::Typing { TYPING_PAUSE } else { AUTOSAVE_PAUSE };
            let flush = flush.clone();
            set_timeout(move || if edit_seq.try_get_value() == Some(mine) { flush() }, pause);
        }
    });
    // "Retry" and "Keep mine" (over the version someone else made).
    let save_again = {
        let (saver, flush) = (saver.clone(), flush.clone());
        move |over: Option<i64>| {
            if let Some(current) = over {
                saver.rebase(current);
            }
            save_state.set(SaveState::Pending);
            flush();
        }
    };

    let add_node = move |kind: &'static str, title: &'static str| {
        let v = view_port.get_untracked();
        let (id, position) = graph.with_untracked(|d| {
            let id = (1..).map(|n| format!("{kind}_{n}")).find(|c| d.node(c).is_none()).expect("an unused id");
            (id, free_spot(d, Position { x: (40.0 - v.x) / v.zoom, y: (40.0 - v.y) / v.zoom }))
        });
        let node = Node {
            id: id.clone(),
            kind: kind.to_owned(),
            position,
            data: NodeData { label: title.to_owned(), config: Default::default() },
            selected: false,
            width: Some(NODE_W),
            height: Some(NODE_H),
            dragging: None,
            extra: Default::default(),
        };
        graph.update(|d| d.nodes.push(node));
        selected.set(Some(Selection::Node(id)));
        on_edit.run(EditKind::Semantic);
    };

    let delete_selected = Callback::new(move |_: ()| delete_selection(graph, selected, on_edit));

    let fit_view = move || {
        // A frame later the editor may be gone.
        let Some(previewing) = preview.try_with_untracked(Option::is_some) else { return };
        let d = if previewing { preview_graph.get_untracked() } else { graph.get_untracked() };
        let (w, h) = leptos::prelude::document()
            .query_selector(".canvas")
            .ok()
            .flatten()
            .map(|el| {
                let r = el.get_bounding_client_rect();
                (r.width(), r.height())
            })
            .unwrap_or((900.0, 560.0));
        view_port.try_set(fit(&d, w, h));
    };

    // Open with every node in sight, measured once the canvas is laid out (a phone's is
    // narrower than the fallback).
    let fit_on_open = fit_view.clone();
    Effect::new(move |_| {
        let fit = fit_on_open.clone();
        request_animation_frame(move || fit());
    });

    // The open history and the previewed version live in the URL (`?history=1`,
    // `?preview=4`; the Executions page links `?version=4`), so reload and Back keep them.
    let query = crate::location::query();
    let go = Callback::new(move |(search, replace): (String, bool)| crate::location::set_query(&search, replace));
    let history_open = Memo::new(move |_| role >= Role::Admin && query.read().get("history").as_deref() == Some("1"));
    let linked_version = Memo::new(move |_| {
        let q = query.read();
        q.get("preview").or_else(|| q.get("version"))
    });
    let asked_preview = Memo::new(move |_| linked_version.get().and_then(|v| v.parse::<i64>().ok()).filter(|_| role >= Role::Admin));
    let on_preview = Callback::new(move |info: VersionInfo| go.run((format!("?preview={}", info.version), false)));
    // A member's link to a version opens the live workflow, and says so.
    if role < Role::Admin && linked_version.with_untracked(Option::is_some) {
        notice.set(Some("Earlier versions are shown to owners and admins only: this is the current workflow.".into()));
    }
    let (org_p, id_p) = (org.clone(), id.clone());
    Effect::new(move |_| {
        let Some(n) = asked_preview.get() else {
            preview.set(None);
            return;
        };
        // The current version is what the editor shows: nothing to preview or restore.
        if n == version.get_untracked() && save_state.get_untracked() != SaveState::Pending {
            preview.set(None);
            notice.set(Some(format!("Version {n} is the current version: it is what the editor shows.")));
            go.run((String::new(), true));
            return;
        }
        if preview.with_untracked(|p| p.as_ref().map(|p| p.info.version)) == Some(n) {
            return;
        }
        let (org, id) = (org_p.clone(), id_p.clone());
        spawn_local(async move {
            let loaded = match get_version_info(org.clone(), id.clone(), n).await {
                Ok(info) => workflow_version(org, id, n).await.map(|old| (info, old)),
                Err(e) => Err(e),
            };
            match loaded {
                // Still the version asked for (Back may have moved on meanwhile).
                Ok((info, old)) if asked_preview.try_get_untracked().flatten() == Some(n) => {
                    let old = Definition { nodes: old.nodes, edges: old.edges };
                    let since = diff(&old, &graph.get_untracked());
                    let mut marks = HashMap::new();
                    marks.extend(since.nodes_removed.iter().map(|n| (n.id.clone(), Mark::Removed)));
                    marks.extend(since.nodes_changed.iter().map(|n| (n.id.clone(), Mark::Changed)));
                    let added_since = since.nodes_added.iter().map(|n| n.label.clone()).collect();
                    preview_graph.set(old);
                    selected.set(None);
                    preview.set(Some(Preview { info, marks, added_since }));
                }
                Ok(_) => {}
                Err(e) => {
                    notice.try_set(Some(e.for_people()));
                }
            }
        });
    });

    // Run: the saved definition runs (strictly validated first); unsaved edits wait.
    let last_run = RwSignal::new(None::<Result<Execution, crate::error::ApiError>>);
    let (org_run, id_run) = (org.clone(), id.clone());
    let run = move |_| {
        let (org, id) = (org_run.clone(), id_run.clone());
        last_run.set(None);
        spawn_local(async move { last_run.set(Some(run_workflow(org, id).await)) });
    };
    let saved = move || matches!(save_state.get(), SaveState::Saved { .. });
    let org_link = org.clone();
    let run_result = move || {
        last_run.get().map(|r| match r {
            Ok(e) => view! {
                <p class="notice" role="status">"Run queued. "<a href=format!("/orgs/{}/executions/{}", org_link, e.id)>"View the run"</a></p>
            }
            .into_any(),
            Err(e) => view! { <p class="form-error" role="alert">{format!("Cannot run: {}", e.for_people())}</p> }.into_any(),
        })
    };
    let webhook_keys_open = RwSignal::new(false);
    let history_button = NodeRef::<leptos::html::Button>::new();

    let (org_r, id_r) = (org.clone(), id.clone());
    let rebase = saver.clone();
    let restore = move || {
        let Some(p) = preview.get_untracked() else { return };
        let n = p.info.version;
        let question = format!("Restore version {n}? It becomes a new current version; nothing in the history is lost.");
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let (org, id, rebase) = (org_r.clone(), id_r.clone(), rebase.clone());
        spawn_local(async move {
            match restore_workflow(org, id, n).await {
                Ok(w) => {
                    graph.set(Definition { nodes: w.nodes, edges: w.edges });
                    name.set(w.name);
                    version.set(w.version);
                    rebase.rebase(w.version);
                    let approval = Waiting { pending: w.approval.state == ApprovalState::Pending, approved_version: w.approved_version };
                    save_state.set(SaveState::Saved { version: w.version, versioned: true, approval });
                    preview.set(None);
                    go.run((String::new(), true));
                    notice.set(Some(format!("Restored version {n} as version {}.", w.version)));
                }
                Err(e) => notice.set(Some(e.for_people())),
            }
        });
    };

    let retry = save_again.clone();
    let status = move || match save_state.get() {
        // A member's version that waits for an owner or admin: runs keep using the approved one.
        SaveState::Saved { version, approval: Waiting { pending: true, approved_version }, .. } => {
            let runs = approved_version.map_or_else(|| "nothing runs until one is approved".to_owned(), |a| format!("runs use v{a}"));
            view! { <span class="save-state waiting">{format!("Saved · v{version}, waiting for approval; {runs}")}</span> }.into_any()
        }
        SaveState::Saved { version, versioned: true, .. } => view! { <span class="save-state ok">{format!("Saved · v{version}")}</span> }.into_any(),
        SaveState::Saved { versioned: false, .. } => view! { <span class="save-state ok">"Saved"</span> }.into_any(),
        SaveState::Pending => view! { <span class="save-state">"Unsaved changes…"</span> }.into_any(),
        SaveState::Saving => view! { <span class="save-state">"Saving…"</span> }.into_any(),
        SaveState::Failed(message) => {
            let retry = retry.clone();
            view! {
                <span class="save-state failed">
                    {format!("Not saved: {message} — ")}
                    <button type="button" class="link-button danger" on:click=move |_| retry(None)>"Retry"</button>
                </span>
            }
            .into_any()
        }
        SaveState::Conflict { message, current } => {
            let keep = retry.clone();
            view! {
                <span class="save-state failed">
                    {format!("Not saved: {message} ")}
                    <button type="button" class="link-button" on:click=move |_| go.run(("?history=1".into(), false))>"Compare"</button>" · "
                    <button type="button" class="link-button" on:click=move |_| { let _ = window().location().reload(); }>"Reload theirs"</button>" · "
                    <button type="button" class="link-button danger" on:click=move |_| keep(Some(current))>"Keep mine"</button>
                </span>
            }
            .into_any()
        }
    };
    // A review in History changes which version runs: the status says so at once.
    let on_reviewed = Callback::new(move |reviewed: VersionInfo| {
        if let SaveState::Saved { version: v, versioned, mut approval } = save_state.get_untracked() {
            if reviewed.approval.state == ApprovalState::Approved {
                approval.approved_version = approval.approved_version.max(Some(reviewed.version));
            }
            if reviewed.version == v {
                approval.pending = false;
            }
            save_state.set(SaveState::Saved { version: v, versioned, approval });
        }
    });
    let is_previewing = Signal::derive(move || preview.get().is_some());
    let fit_click = fit_view.clone();
    let (org_h, id_h) = (org.clone(), id.clone());
    let engagement_href = format!("/orgs/{org}/workflows/{id}/engagement");

    view! {
        // The title outlives the editor by a moment (the next page's may come later).
        <Title text=move || format!("{} · Chronicle", name.try_get().unwrap_or_default())/>
        <div class="editor">
            // The page's heading for assistive technology; the name field shows it to the eye.
            <h1 class="visually-hidden">{move || format!("Workflow: {}", name.get())}</h1>
            <div class="editor-toolbar">
                <label class="name-field">
                    <span class="visually-hidden">"Workflow name"</span>
                    <input type="text" aria-label="Workflow name" prop:value=move || name.get() disabled=is_previewing
                        on:input=move |ev| { name.set(event_target_value(&ev)); on_edit.run(EditKind::Typing); }
                        on:change=move |_| on_edit.run(EditKind::Semantic)/>
                </label>
                <span role="status" aria-live="polite">{status}</span>
                <div class="toolbar-actions">
                    <button type="button" on:click=move |_| view_port.update(|v| v.zoom = (v.zoom * 1.2).min(MAX_ZOOM))>"Zoom in"</button>
                    <button type="button" on:click=move |_| view_port.update(|v| v.zoom = (v.zoom / 1.2).max(MIN_ZOOM))>"Zoom out"</button>
                    <button type="button" on:click=move |_| fit_click()>"Fit to view"</button>
                    <Show when=move || { role >= Role::Admin }>
                        <button type="button" on:click=move |_| webhook_keys_open.update(|o| *o = !*o) aria-expanded=move || webhook_keys_open.get().to_string()>"Webhook keys"</button>
                        <a href=engagement_href.clone() class="button">"Engagement"</a>
                        <button type="button" class="primary" node_ref=history_button on:click=move |_| go.run(("?history=1".into(), false))>"Version history"</button>
                    </Show>
                    <button type="button" class="primary run" on:click=run disabled=move || !saved() || is_previewing.get()
                        title=move || if saved() { "Run the saved workflow now" } else { "Saving… the run starts from the saved version" }>"Run"</button>
                </div>
            </div>
            {run_result}
            {move || notice.get().map(|n| view! { <p class="notice" role="alert">{n}</p> })}
            {let (org, id) = (org.clone(), id.clone()); move || webhook_keys_open.get().then(|| view! {
                <crate::components::webhook_keys::WebhookKeysPanel org=org.clone() workflow_id=id.clone()/>
            })}
            {move || preview.get().map(|p| {
                let author = p.info.actor.name.clone().unwrap_or(p.info.actor.label.clone());
                let when = relative(&p.info.created_at, chrono::Utc::now());
                let restore = restore.clone();
                view! {
                    <div class="preview-banner" role="region" aria-label="Preview">
                        <strong>{format!("Viewing version {} ({author}, {when}) — read-only", p.info.version)}</strong>
                        <button type="button" class="primary" on:click=move |_| restore()>"Restore this version"</button>
                        <button type="button" on:click=move |_| go.run((String::new(), false))>"Exit preview"</button>
                    </div>
                }
            })}
            <div class="editor-body">
                <nav class="palette" aria-label="Add a node">
                    <h2>"Add a node"</h2>
                    {CATALOG.iter().map(|spec| view! {
                        <button type="button" disabled=is_previewing aria-label=format!("Add {}", spec.title)
                            on:click=move |_| add_node(spec.kind, spec.title)>
                            <span class="palette-icon">{spec.icon}</span>{spec.title}
                        </button>
                    }).collect_view()}
                </nav>
                {move || if preview.get().is_some() {
                    let marks = Signal::derive(move || preview.get().map(|p| p.marks).unwrap_or_default());
                    view! { <Canvas graph=preview_graph read_only=true marks selected view=view_port on_edit/> }.into_any()
                } else {
                    view! { <Canvas graph read_only=false marks=HashMap::new() selected view=view_port on_edit/> }.into_any()
                }}
                {move || match (selected.get(), preview.get().is_some()) {
                    (Some(Selection::Node(id)), false) => view! { <NodePanel id graph on_edit on_delete=delete_selected/> }.into_any(),
                    (Some(Selection::Edge(edge_id)), false) => {
                        let label = graph.with(|d| d.edges.iter().find(|e| e.id == edge_id).map(|e| {
                            let l = |id: &str| d.node(id).map(crate::workflow::diff::display_label).unwrap_or_default();
                            format!("{} → {}", l(&e.source), l(&e.target))
                        }));
                        view! {
                            <aside class="side-panel" aria-label="Connection">
                                <h2>"Connection"</h2>
                                <p>{label}</p>
                                <button type="button" class="danger" on:click=move |_| delete_selected.run(())>"Delete connection"</button>
                            </aside>
                        }.into_any()
                    }
                    (_, true) => {
                        let added = preview.get().map(|p| p.added_since).unwrap_or_default();
                        view! {
                            <aside class="side-panel muted" aria-label="Help">
                                <p>"This is an earlier version, read-only. Compared with the current version: "
                                    <span class="legend-removed">"red nodes were removed since"</span>", "
                                    <span class="legend-changed">"amber ones changed since"</span>"."</p>
                                {(!added.is_empty()).then(|| view! { <p class="added-since">{format!("Added since (not in this version): {}.", added.join(", "))}</p> })}
                                <p>"Restore it to make it current, or exit the preview to edit."</p>
                            </aside>
                        }.into_any()
                    }
                    _ => view! {
                        <aside class="side-panel muted" aria-label="Help">
                            <p>"Select a node to edit it. Drag from a node's right handle onto another node to connect them. Delete removes the selection. Drag the background to pan; zoom with the mouse wheel, a two-finger pinch or the Zoom buttons."</p>
                        </aside>
                    }.into_any(),
                }}
            </div>
        </div>
        <Show when=move || history_open.get()>
            <HistoryPanel org=org_h.clone() id=id_h.clone() current_version=version viewer=user_id.clone() on_reviewed on_preview on_close=Callback::new(move |_| {
                go.run((String::new(), false));
                // Back to the button that opened it, as a dialog should.
                if let Some(button) = history_button.get_untracked() {
                    let _ = button.focus();
                }
            })/>
        </Show>
    }
    .into_any()
}
