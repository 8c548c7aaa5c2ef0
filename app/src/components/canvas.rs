//! The workflow canvas: an SVG that shows nodes and edges, and — unless read-only — lets a
//! person drag nodes, connect an output handle to an input handle, delete with the Delete
//! key, pan (drag the background) and zoom (wheel). Every edit goes through `on_edit`.

use crate::workflow::catalog;
use crate::workflow::{Definition, Edge, Node, Position};
use leptos::html;
use leptos::prelude::*;
use std::collections::HashMap;

pub const NODE_W: f64 = 180.0;
pub const NODE_H: f64 = 56.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Node(String),
    Edge(String),
}

/// How a node compares with the current version while previewing another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Added,
    Changed,
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport { x: 40.0, y: 40.0, zoom: 1.0 }
    }
}

/// What an edit changed: cosmetic edits (moves) save without a version; `Typing` is a
/// semantic edit still being typed (saved after a longer pause, or when the field is left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    Cosmetic,
    Semantic,
    Typing,
}

#[derive(Debug, Clone)]
enum Gesture {
    Pan { from: (f64, f64), start: Viewport },
    Drag { id: String, from: (f64, f64), start: Position, moved: bool },
    Connect { source: String, at: (f64, f64) },
}

/// The canvas. `graph` is what it shows; `ghosts` are nodes drawn faded (removed since);
/// `marks` highlight nodes; edits mutate `graph` only when `read_only` is false.
#[component]
pub fn Canvas(
    graph: RwSignal<Definition>,
    #[prop(into)] read_only: Signal<bool>,
    #[prop(into)] marks: Signal<HashMap<String, Mark>>,
    #[prop(into)] ghosts: Signal<Vec<Node>>,
    selected: RwSignal<Option<Selection>>,
    view: RwSignal<Viewport>,
    on_edit: Callback<EditKind>,
) -> AnyView {
    let surface = NodeRef::<html::Div>::new();
    let gesture = RwSignal::new(None::<Gesture>);

    // Client coordinates → canvas coordinates.
    let to_canvas = move |cx: f64, cy: f64| {
        let (left, top) = surface.get_untracked().map(|el| {
            let r = el.get_bounding_client_rect();
            (r.left(), r.top())
        }).unwrap_or((0.0, 0.0));
        let v = view.get_untracked();
        ((cx - left - v.x) / v.zoom, (cy - top - v.y) / v.zoom)
    };

    let on_pointer_move = move |ev: web_sys::PointerEvent| {
        let (cx, cy) = (ev.client_x() as f64, ev.client_y() as f64);
        match gesture.get_untracked() {
            Some(Gesture::Pan { from, start }) => {
                view.set(Viewport { x: start.x + cx - from.0, y: start.y + cy - from.1, ..start });
            }
            Some(Gesture::Drag { id, from, start, .. }) => {
                let zoom = view.get_untracked().zoom;
                let pos = Position { x: start.x + (cx - from.0) / zoom, y: start.y + (cy - from.1) / zoom };
                graph.update(|d| {
                    if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
                        n.position = pos;
                    }
                });
                gesture.set(Some(Gesture::Drag { id, from, start, moved: true }));
            }
            Some(Gesture::Connect { source, .. }) => {
                gesture.set(Some(Gesture::Connect { source, at: to_canvas(cx, cy) }));
            }
            None => {}
        }
    };
    let end_gesture = move |_| {
        if let Some(Gesture::Drag { moved: true, .. }) = gesture.get_untracked() {
            on_edit.run(EditKind::Cosmetic);
        }
        gesture.set(None);
    };

    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let v = view.get_untracked();
        let factor = if ev.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 };
        let zoom = (v.zoom * factor).clamp(0.2, 3.0);
        let (px, py) = to_canvas(ev.client_x() as f64, ev.client_y() as f64);
        // Zoom around the pointer: the canvas point under it stays put.
        view.set(Viewport { x: v.x + px * (v.zoom - zoom), y: v.y + py * (v.zoom - zoom), zoom });
    };

    let delete_selected = move || {
        if !read_only.get_untracked() {
            delete_selection(graph, selected, on_edit);
        }
    };

    let on_key = move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        if key == "Delete" || key == "Backspace" {
            ev.prevent_default();
            delete_selected();
            return;
        }
        let step = match key.as_str() {
            "ArrowLeft" => (-10.0, 0.0),
            "ArrowRight" => (10.0, 0.0),
            "ArrowUp" => (0.0, -10.0),
            "ArrowDown" => (0.0, 10.0),
            _ => return,
        };
        if read_only.get_untracked() {
            return;
        }
        if let Some(Selection::Node(id)) = selected.get_untracked() {
            ev.prevent_default();
            graph.update(|d| {
                if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
                    n.position.x += step.0;
                    n.position.y += step.1;
                }
            });
            on_edit.run(EditKind::Cosmetic);
        }
    };

    let node_ids = move || graph.with(|d| d.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>());
    let edge_paths = move || {
        graph.with(|d| {
            let pos: HashMap<&str, Position> = d.nodes.iter().map(|n| (n.id.as_str(), n.position)).collect();
            d.edges
                .iter()
                .filter_map(|e: &Edge| {
                    let (s, t) = (pos.get(e.source.as_str())?, pos.get(e.target.as_str())?);
                    Some((e.id.clone(), curve((s.x + NODE_W, s.y + NODE_H / 2.0), (t.x, t.y + NODE_H / 2.0))))
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <div
            class="canvas"
            class:read-only=move || read_only.get()
            node_ref=surface
            tabindex="0"
            role="application"
            aria-label="Workflow canvas"
            on:pointermove=on_pointer_move
            on:pointerup=end_gesture
            on:pointerleave=end_gesture
            on:wheel=on_wheel
            on:keydown=on_key
        >
            <svg width="100%" height="100%">
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" fill="#7a8499"></path>
                    </marker>
                </defs>
                <rect
                    class="canvas-bg"
                    width="100%"
                    height="100%"
                    on:pointerdown=move |ev: web_sys::PointerEvent| {
                        selected.set(None);
                        gesture.set(Some(Gesture::Pan { from: (ev.client_x() as f64, ev.client_y() as f64), start: view.get_untracked() }));
                    }
                ></rect>
                <g transform=move || { let v = view.get(); format!("translate({} {}) scale({})", v.x, v.y, v.zoom) }>
                    {move || ghosts.get().into_iter().map(|n| view! {
                        <g class="node ghost" transform=format!("translate({} {})", n.position.x, n.position.y) aria-label=format!("Removed node {}", n.data.label)>
                            <rect width=NODE_W height=NODE_H rx="8"></rect>
                            <text x="14" y="34" class="node-icon">{catalog::spec(&n.kind).map(|s| s.icon).unwrap_or("?")}</text>
                            <text x="44" y="34" class="node-label">{n.data.label.clone()}</text>
                        </g>
                    }).collect_view()}
                    <For each=edge_paths key=|(id, d)| (id.clone(), d.clone()) let:edge>
                        {
                            let (id, d) = edge;
                            let id_sel = id.clone();
                            let is_sel = move || selected.get() == Some(Selection::Edge(id_sel.clone()));
                            // A wide, invisible twin takes the pointer: a 2 px line is hard to hit.
                            view! {
                                <g on:pointerdown=move |_| selected.set(Some(Selection::Edge(id.clone())))>
                                    <path class="edge-hit" d=d.clone()></path>
                                    <path class="edge" class:selected=is_sel d=d marker-end="url(#arrow)"></path>
                                </g>
                            }
                        }
                    </For>
                    {move || match gesture.get() {
                        Some(Gesture::Connect { source, at }) => graph.with(|d| d.node(&source).map(|s| {
                            view! { <path class="edge pending" d=curve((s.position.x + NODE_W, s.position.y + NODE_H / 2.0), at)></path> }
                        })),
                        _ => None,
                    }}
                    <For each=node_ids key=|id| id.clone() let:id>
                        <CanvasNode id graph read_only marks selected gesture on_edit/>
                    </For>
                </g>
            </svg>
        </div>
    }
    .into_any()
}

#[component]
fn CanvasNode(
    id: String,
    graph: RwSignal<Definition>,
    read_only: Signal<bool>,
    marks: Signal<HashMap<String, Mark>>,
    selected: RwSignal<Option<Selection>>,
    gesture: RwSignal<Option<Gesture>>,
    on_edit: Callback<EditKind>,
) -> impl IntoView {
    let node = {
        let id = id.clone();
        Memo::new(move |_| graph.with(|d| d.node(&id).cloned()))
    };
    let pos = move || node.get().map(|n| n.position).unwrap_or_default();
    let label = move || node.get().map(|n| crate::workflow::diff::display_label(&n)).unwrap_or_default();
    let icon = move || node.get().and_then(|n| catalog::spec(&n.kind)).map(|s| s.icon).unwrap_or("?");
    let mark = {
        let id = id.clone();
        Signal::derive(move || marks.with(|m| m.get(&id).copied()))
    };
    let is_selected = {
        let id = id.clone();
        move || selected.get() == Some(Selection::Node(id.clone()))
    };
    let select = {
        let id = id.clone();
        move || selected.set(Some(Selection::Node(id.clone())))
    };
    let (id_drag, id_connect, id_drop) = (id.clone(), id.clone(), id.clone());
    view! {
        <g
            class="node"
            class:selected=is_selected
            class:added=move || mark.get() == Some(Mark::Added)
            class:changed=move || mark.get() == Some(Mark::Changed)
            transform=move || { let p = pos(); format!("translate({} {})", p.x, p.y) }
            tabindex="0"
            role="button"
            aria-label=move || format!("Node {}", label())
            data-node-id=id.clone()
            on:focus={ let select = select.clone(); move |_| select() }
            on:pointerdown=move |ev: web_sys::PointerEvent| {
                // Delegated events reach this node after its output handle even when the
                // handle stopped propagation: a connection in progress wins over a drag.
                if matches!(gesture.get_untracked(), Some(Gesture::Connect { .. })) {
                    return;
                }
                selected.set(Some(Selection::Node(id_drag.clone())));
                if !read_only.get_untracked() {
                    let start = pos();
                    gesture.set(Some(Gesture::Drag { id: id_drag.clone(), from: (ev.client_x() as f64, ev.client_y() as f64), start, moved: false }));
                }
            }
        >
            <rect width=NODE_W height=NODE_H rx="8"></rect>
            <text x="14" y="34" class="node-icon">{icon}</text>
            <text x="44" y="34" class="node-label">{label}</text>
            <circle
                class="handle in"
                cx="0"
                cy=NODE_H / 2.0
                r="7"
                on:pointerup=move |_| {
                    if let Some(Gesture::Connect { source, .. }) = gesture.get_untracked() {
                        gesture.set(None);
                        if source != id_drop {
                            connect(graph, &source, &id_drop);
                            on_edit.run(EditKind::Semantic);
                        }
                    }
                }
            ></circle>
            <circle
                class="handle out"
                cx=NODE_W
                cy=NODE_H / 2.0
                r="7"
                aria-label="Output"
                on:pointerdown=move |_| {
                    if !read_only.get_untracked() {
                        let p = pos();
                        gesture.set(Some(Gesture::Connect { source: id_connect.clone(), at: (p.x + NODE_W, p.y + NODE_H / 2.0) }));
                    }
                }
            ></circle>
        </g>
    }
}

/// Deletes the selected node (with its connections) or connection.
pub fn delete_selection(graph: RwSignal<Definition>, selected: RwSignal<Option<Selection>>, on_edit: Callback<EditKind>) {
    let Some(sel) = selected.get_untracked() else { return };
    graph.update(|d| match &sel {
        Selection::Node(id) => {
            d.nodes.retain(|n| &n.id != id);
            d.edges.retain(|e| &e.source != id && &e.target != id);
        }
        Selection::Edge(id) => d.edges.retain(|e| &e.id != id),
    });
    selected.set(None);
    on_edit.run(EditKind::Semantic);
}

/// Adds an edge `source → target` unless one already connects them.
pub fn connect(graph: RwSignal<Definition>, source: &str, target: &str) {
    graph.update(|d| {
        if d.edges.iter().any(|e| e.source == source && e.target == target) {
            return;
        }
        let mut n = d.edges.len() + 1;
        while d.edges.iter().any(|e| e.id == format!("e{n}")) {
            n += 1;
        }
        d.edges.push(Edge {
            id: format!("e{n}"),
            source: source.to_owned(),
            target: target.to_owned(),
            source_handle: None,
            target_handle: None,
            style: Default::default(),
            animated: false,
            extra: Default::default(),
        });
    });
}

/// A horizontal S-curve from an output handle to an input handle.
fn curve(from: (f64, f64), to: (f64, f64)) -> String {
    let dx = ((to.0 - from.0).abs() / 2.0).max(40.0);
    format!("M {} {} C {} {}, {} {}, {} {}", from.0, from.1, from.0 + dx, from.1, to.0 - dx, to.1, to.0, to.1)
}

/// The viewport that shows every node of `d` inside a `width`×`height` box.
pub fn fit(d: &Definition, width: f64, height: f64) -> Viewport {
    if d.nodes.is_empty() {
        return Viewport::default();
    }
    let min_x = d.nodes.iter().map(|n| n.position.x).fold(f64::INFINITY, f64::min);
    let min_y = d.nodes.iter().map(|n| n.position.y).fold(f64::INFINITY, f64::min);
    let max_x = d.nodes.iter().map(|n| n.position.x + NODE_W).fold(f64::NEG_INFINITY, f64::max);
    let max_y = d.nodes.iter().map(|n| n.position.y + NODE_H).fold(f64::NEG_INFINITY, f64::max);
    let pad = 40.0;
    let zoom = ((width - 2.0 * pad) / (max_x - min_x)).min((height - 2.0 * pad) / (max_y - min_y)).clamp(0.2, 1.0);
    Viewport { x: pad - min_x * zoom, y: pad - min_y * zoom, zoom }
}
