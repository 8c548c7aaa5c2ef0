//! The workflow canvas: an SVG that shows nodes and edges, and — unless read-only — lets a
//! person drag nodes, connect an output handle to another node (mouse, pen or finger), delete
//! with the Delete key, pan (drag the background) and zoom (wheel or pinch). Every edit goes
//! through `on_edit`.

use crate::workflow::catalog;
use crate::workflow::{Definition, Edge, Position};
use leptos::html;
use leptos::prelude::*;
use std::collections::HashMap;

pub const NODE_W: f64 = 180.0;
pub const NODE_H: f64 = 56.0;
/// The smallest zoom anything can reach, and the smallest "Fit" picks on a narrow canvas
/// (a phone's): below it labels and handles are too small to read or touch.
pub const MIN_ZOOM: f64 = 0.4;
const MIN_FIT_ZOOM_NARROW: f64 = 0.75;
pub const MAX_ZOOM: f64 = 3.0;
/// Characters of a label that fit between the icon and the output handle.
const LABEL_CHARS: usize = 17;

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Node(String),
    Edge(String),
}

/// How a node of a previewed version compares with the current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Changed since this version.
    Changed,
    /// Gone from the current version.
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
    /// Two fingers: the canvas point under their first midpoint follows the midpoint, and the
    /// zoom follows their distance.
    Pinch { distance: f64, anchor: (f64, f64), start: Viewport },
}

fn midpoint_and_distance(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), f64) {
    (((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0), ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt().max(1.0))
}

/// The id of the node drawn at client point (x, y), if any: where a connection is dropped. A
/// finger's pointer events all go to the handle it started on, so the target is found by place.
fn node_at(x: f64, y: f64) -> Option<String> {
    let el = document().element_from_point(x as f32, y as f32)?;
    el.closest("[data-node-id]").ok().flatten()?.get_attribute("data-node-id")
}

/// A label shortened to what fits inside a node; the full text is in its title and name.
pub fn fit_label(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let kept: String = label.chars().take(LABEL_CHARS - 1).collect();
    format!("{}…", kept.trim_end())
}

/// The canvas. `graph` is what it shows; `marks` highlight nodes; edits mutate `graph` only
/// when `read_only` is false.
#[component]
pub fn Canvas(
    graph: RwSignal<Definition>,
    #[prop(into)] read_only: Signal<bool>,
    #[prop(into)] marks: Signal<HashMap<String, Mark>>,
    selected: RwSignal<Option<Selection>>,
    view: RwSignal<Viewport>,
    on_edit: Callback<EditKind>,
) -> AnyView {
    let surface = NodeRef::<html::Div>::new();
    let gesture = RwSignal::new(None::<Gesture>);
    // Fingers on the canvas now, by pointer id.
    let touches = StoredValue::new(HashMap::<i32, (f64, f64)>::new());
    // Where two fingers are, when two are down.
    let two_fingers = move || {
        let pair: Vec<(f64, f64)> = touches.with_value(|t| t.values().copied().take(2).collect());
        match pair[..] {
            [a, b] => Some((a, b)),
            _ => None,
        }
    };

    // The canvas's top left corner, in client coordinates.
    let origin = move || {
        surface.get_untracked().map(|el| {
            let r = el.get_bounding_client_rect();
            (r.left(), r.top())
        }).unwrap_or((0.0, 0.0))
    };
    // Client coordinates → canvas coordinates.
    let to_canvas = move |cx: f64, cy: f64| {
        let (left, top) = origin();
        let v = view.get_untracked();
        ((cx - left - v.x) / v.zoom, (cy - top - v.y) / v.zoom)
    };

    let on_pointer_down = move |ev: web_sys::PointerEvent| {
        if ev.pointer_type() != "touch" {
            return;
        }
        touches.update_value(|t| {
            t.insert(ev.pointer_id(), (ev.client_x() as f64, ev.client_y() as f64));
        });
        // A second finger turns whatever the first began into a pinch.
        if let Some((a, b)) = two_fingers() {
            let (mid, distance) = midpoint_and_distance(a, b);
            gesture.set(Some(Gesture::Pinch { distance, anchor: to_canvas(mid.0, mid.1), start: view.get_untracked() }));
        }
    };

    let on_pointer_move = move |ev: web_sys::PointerEvent| {
        let (cx, cy) = (ev.client_x() as f64, ev.client_y() as f64);
        if ev.pointer_type() == "touch" {
            touches.update_value(|t| {
                if let Some(p) = t.get_mut(&ev.pointer_id()) {
                    *p = (cx, cy);
                }
            });
        }
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
            Some(Gesture::Pinch { distance, anchor, start }) => {
                let Some((a, b)) = two_fingers() else { return };
                let (mid, now) = midpoint_and_distance(a, b);
                let zoom = (start.zoom * now / distance).clamp(MIN_ZOOM, MAX_ZOOM);
                let (left, top) = origin();
                view.set(Viewport { x: mid.0 - left - anchor.0 * zoom, y: mid.1 - top - anchor.1 * zoom, zoom });
            }
            None => {}
        }
    };
    // A pointer lifted (or leaving the canvas): a drag is saved, a connection made when it
    // ends over another node (on its input handle or anywhere on it).
    let end_gesture = move |ev: web_sys::PointerEvent| {
        touches.update_value(|t| {
            t.remove(&ev.pointer_id());
        });
        match gesture.get_untracked() {
            Some(Gesture::Drag { moved: true, .. }) => on_edit.run(EditKind::Cosmetic),
            Some(Gesture::Connect { source, .. }) if ev.type_() == "pointerup" => {
                if let Some(target) = node_at(ev.client_x() as f64, ev.client_y() as f64).filter(|t| *t != source) {
                    connect(graph, &source, &target);
                    on_edit.run(EditKind::Semantic);
                }
            }
            // One finger of two lifted: the other one does nothing more until lifted too.
            Some(Gesture::Pinch { .. }) if touches.with_value(|t| !t.is_empty()) => return,
            _ => {}
        }
        gesture.set(None);
    };

    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let v = view.get_untracked();
        let factor = if ev.delta_y() < 0.0 { 1.1 } else { 1.0 / 1.1 };
        let zoom = (v.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
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
            on:pointerdown=on_pointer_down
            on:pointermove=on_pointer_move
            on:pointerup=end_gesture
            on:pointercancel=end_gesture
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
                        <CanvasNode id graph read_only marks selected gesture/>
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
    let (id_drag, id_connect) = (id.clone(), id.clone());
    view! {
        <g
            class="node"
            class:selected=is_selected
            class:changed=move || mark.get() == Some(Mark::Changed)
            class:removed=move || mark.get() == Some(Mark::Removed)
            transform=move || { let p = pos(); format!("translate({} {})", p.x, p.y) }
            tabindex="0"
            role="button"
            aria-label=move || match mark.get() {
                Some(Mark::Removed) => format!("Node {} (removed since)", label()),
                Some(Mark::Changed) => format!("Node {} (changed since)", label()),
                None => format!("Node {}", label()),
            }
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
            <title>{label}</title>
            <text x="44" y="34" class="node-label">{move || fit_label(&label())}</text>
            <circle class="handle in" cx="0" cy=NODE_H / 2.0 r="7"></circle>
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
    let least = if width < 600.0 { MIN_FIT_ZOOM_NARROW } else { MIN_ZOOM };
    let zoom = ((width - 2.0 * pad) / (max_x - min_x)).min((height - 2.0 * pad) / (max_y - min_y)).clamp(least, 1.0);
    Viewport { x: pad - min_x * zoom, y: pad - min_y * zoom, zoom }
}
