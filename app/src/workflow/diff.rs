//! The semantic diff between two versions of a workflow: what a person means by "what
//! changed" — nodes added, removed and changed field by field, connections made and broken —
//! never raw JSON, and never cosmetic state.

use super::{Definition, Edge, Node};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Long text (code, email bodies) gets a word or line diff; past this it is "long".
const LONG_TEXT: usize = 80;
/// A pathological pair of texts cannot hold a request longer than this.
const TEXT_DIFF_TIMEOUT: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDiff {
    /// The workflow's name, when it changed too (a restore brings the old name back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<NameChange>,
    pub nodes_added: Vec<NodeRef>,
    pub nodes_removed: Vec<NodeRef>,
    pub nodes_changed: Vec<NodeChange>,
    pub edges_added: Vec<EdgeRef>,
    pub edges_removed: Vec<EdgeRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameChange {
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeChange {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `type`, `label`, `config.url`, `config.headers.Accept`…
    pub path: String,
    /// `null` when the field was added.
    pub before: Value,
    /// `null` when the field was removed.
    pub after: Value,
    /// For long text: the word or line changes, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_diff: Option<Vec<TextSpan>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanOp {
    Equal,
    Insert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSpan {
    pub op: SpanOp,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRef {
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_handle: Option<String>,
    pub source_label: String,
    pub target_label: String,
}

/// Counts for a history row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    pub nodes_added: i64,
    pub nodes_removed: i64,
    pub nodes_changed: i64,
    pub edges_added: i64,
    pub edges_removed: i64,
}

impl WorkflowDiff {
    pub fn summary(&self) -> DiffSummary {
        DiffSummary {
            nodes_added: self.nodes_added.len() as i64,
            nodes_removed: self.nodes_removed.len() as i64,
            nodes_changed: self.nodes_changed.len() as i64,
            edges_added: self.edges_added.len() as i64,
            edges_removed: self.edges_removed.len() as i64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.summary() == DiffSummary::default() && self.name.is_none()
    }

    /// The same change, saying the name went from `before` to `after` when it did.
    pub fn with_name(mut self, before: &str, after: &str) -> WorkflowDiff {
        self.name = (before != after).then(|| NameChange { before: before.to_owned(), after: after.to_owned() });
        self
    }
}

/// What changed from `from` to `to` (any two versions, not only neighbours).
///
/// Stored definitions are normalised (nodes by id, edges by connectivity), so both sides are
/// walked in step like a merge join: no hash tables, one pass. Unsorted input is sorted first.
pub fn diff(from: &Definition, to: &Definition) -> WorkflowDiff {
    let old = sorted_by(&from.nodes, |n| n.id.as_str());
    let new = sorted_by(&to.nodes, |n| n.id.as_str());
    let mut out = WorkflowDiff::default();
    merge_join(&old, &new, |n| n.id.as_str(), |pair| match pair {
        Pair::After(n) => out.nodes_added.push(node_ref(n)),
        Pair::Before(n) => out.nodes_removed.push(node_ref(n)),
        // Most nodes are unchanged: one equality check, no field walk.
        Pair::Both(b, a) if b.kind == a.kind && b.data == a.data => {}
        Pair::Both(b, a) => {
            let fields = node_fields(b, a);
            if !fields.is_empty() {
                out.nodes_changed.push(NodeChange { id: a.id.clone(), kind: a.kind.clone(), label: a.data.label.clone(), fields });
            }
        }
    });

    let old_edges = sorted_by(&from.edges, Edge::connectivity);
    let new_edges = sorted_by(&to.edges, Edge::connectivity);
    merge_join(&old_edges, &new_edges, Edge::connectivity, |pair| match pair {
        Pair::After(e) => out.edges_added.push(edge_ref(e, &new)),
        Pair::Before(e) => out.edges_removed.push(edge_ref(e, &old)),
        Pair::Both(..) => {}
    });
    out
}

/// References to `items` in `key` order (already so for a normalised definition: O(n) check).
fn sorted_by<'a, T, K: Ord>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut refs: Vec<&T> = items.iter().collect();
    if !refs.is_sorted_by_key(|t| key(t)) {
        refs.sort_by_key(|t| key(t));
    }
    refs
}

/// Where [`merge_join`] found a key: on one side only, or on both.
enum Pair<'a, T> {
    Before(&'a T),
    After(&'a T),
    Both(&'a T, &'a T),
}

/// Walks two key-sorted lists in step, calling `f` once per key. Items repeating a key that
/// was just matched are part of that match (two edges with the same ends are one connection).
fn merge_join<'a, T, K: Ord>(before: &[&'a T], after: &[&'a T], key: impl Fn(&'a T) -> K, mut f: impl FnMut(Pair<'a, T>)) {
    use std::cmp::Ordering::*;
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < after.len() {
        let order = match (before.get(i), after.get(j)) {
            (Some(b), Some(a)) => key(b).cmp(&key(a)),
            (Some(_), None) => Less,
            _ => Greater,
        };
        match order {
            Less => {
                f(Pair::Before(before[i]));
                i += 1;
            }
            Greater => {
                f(Pair::After(after[j]));
                j += 1;
            }
            Equal => {
                let k = key(before[i]);
                f(Pair::Both(before[i], after[j]));
                while before.get(i).is_some_and(|b| key(b) == k) {
                    i += 1;
                }
                while after.get(j).is_some_and(|a| key(a) == k) {
                    j += 1;
                }
            }
        }
    }
}

fn node_ref(n: &Node) -> NodeRef {
    NodeRef { id: n.id.clone(), kind: n.kind.clone(), label: n.data.label.clone() }
}

/// `nodes` sorted by id.
fn edge_ref(e: &Edge, nodes: &[&Node]) -> EdgeRef {
    let label = |id: &str| match nodes.binary_search_by(|n| n.id.as_str().cmp(id)) {
        Ok(i) => display_label(nodes[i]),
        Err(_) => id.to_owned(),
    };
    EdgeRef {
        source: e.source.clone(),
        target: e.target.clone(),
        source_handle: e.source_handle.clone(),
        target_handle: e.target_handle.clone(),
        source_label: label(&e.source),
        target_label: label(&e.target),
    }
}

/// A node's label, or its id when it has none.
pub fn display_label(n: &Node) -> String {
    if n.data.label.trim().is_empty() { n.id.clone() } else { n.data.label.clone() }
}

fn node_fields(before: &Node, after: &Node) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if before.kind != after.kind {
        fields.push(change("type".into(), Value::from(before.kind.clone()), Value::from(after.kind.clone())));
    }
    if before.data.label != after.data.label {
        fields.push(change("label".into(), Value::from(before.data.label.clone()), Value::from(after.data.label.clone())));
    }
    object_fields("config", &before.data.config, &after.data.config, &mut fields);
    fields
}

/// Changed keys of two objects, recursing into nested objects so the path names the leaf.
fn object_fields(prefix: &str, before: &Map<String, Value>, after: &Map<String, Value>, out: &mut Vec<FieldChange>) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys().filter(|k| !before.contains_key(*k))).collect();
    keys.sort();
    for key in keys {
        let path = || format!("{prefix}.{key}");
        match (before.get(key), after.get(key)) {
            (Some(Value::Object(b)), Some(Value::Object(a))) if b != a => object_fields(&path(), b, a, out),
            (Some(Value::Object(_)), Some(Value::Object(_))) => {}
            (b, a) if b != a => out.push(change(path(), b.cloned().unwrap_or(Value::Null), a.cloned().unwrap_or(Value::Null))),
            _ => {}
        }
    }
}

fn change(path: String, before: Value, after: Value) -> FieldChange {
    let text_diff = match (before.as_str(), after.as_str()) {
        (b, a) if is_long(b) || is_long(a) => Some(text_diff(b.unwrap_or(""), a.unwrap_or(""))),
        _ => None,
    };
    FieldChange { path, before, after, text_diff }
}

fn is_long(s: Option<&str>) -> bool {
    s.is_some_and(|s| s.contains('\n') || s.chars().count() > LONG_TEXT)
}

/// Line diff for multi-line text, word diff otherwise; adjacent pieces of one kind merged.
pub fn text_diff(before: &str, after: &str) -> Vec<TextSpan> {
    let mut config = similar::TextDiff::configure();
    config.algorithm(similar::Algorithm::Myers).timeout(TEXT_DIFF_TIMEOUT);
    let d = if before.contains('\n') || after.contains('\n') {
        config.diff_lines(before, after)
    } else {
        config.diff_words(before, after)
    };
    let mut spans: Vec<TextSpan> = Vec::new();
    for c in d.iter_all_changes() {
        let op = match c.tag() {
            similar::ChangeTag::Equal => SpanOp::Equal,
            similar::ChangeTag::Insert => SpanOp::Insert,
            similar::ChangeTag::Delete => SpanOp::Delete,
        };
        match spans.last_mut() {
            Some(last) if last.op == op => last.text.push_str(c.value()),
            _ => spans.push(TextSpan { op, text: c.value().to_owned() }),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::definition::normalise;
    use serde_json::json;

    fn def(v: Value) -> Definition {
        normalise(serde_json::from_value(v).unwrap()).unwrap()
    }

    fn base() -> Value {
        json!({
            "nodes": [
                {"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"label": "Start"}},
                {"id": "h", "type": "http_request", "position": {"x": 200, "y": 0},
                 "data": {"label": "Fetch user", "config": {"url": "https://a.test", "method": "GET"}}},
                {"id": "m", "type": "send_email", "position": {"x": 400, "y": 0},
                 "data": {"label": "Mail", "config": {"to": "ops@acme.test", "subject": "Hi", "body": "Hello team,\nthe job ran.\nBye"}}}
            ],
            "edges": [{"id": "e1", "source": "t", "target": "h"}, {"id": "e2", "source": "h", "target": "m"}]
        })
    }

    fn edited(edit: impl Fn(&mut Value)) -> Definition {
        let mut v = base();
        edit(&mut v);
        def(v)
    }

    #[test]
    fn dragging_and_styling_change_nothing() {
        let moved = edited(|v| {
            v["nodes"][0]["position"] = json!({"x": 999, "y": -5});
            v["nodes"][1]["selected"] = json!(true);
            v["edges"][0]["animated"] = json!(true);
            v["edges"][0]["id"] = json!("renamed-edge");
        });
        assert!(diff(&def(base()), &moved).is_empty());
    }

    #[test]
    fn field_changes_name_path_before_and_after() {
        let cases: Vec<(Box<dyn Fn(&mut Value)>, &str, Value, Value)> = vec![
            (Box::new(|v| v["nodes"][1]["data"]["label"] = json!("Fetch account")), "label", json!("Fetch user"), json!("Fetch account")),
            (Box::new(|v| v["nodes"][1]["data"]["config"]["url"] = json!("https://b.test")), "config.url", json!("https://a.test"), json!("https://b.test")),
            (Box::new(|v| v["nodes"][1]["data"]["config"]["timeout"] = json!(30)), "config.timeout", Value::Null, json!(30)),
            (Box::new(|v| { v["nodes"][1]["data"]["config"].as_object_mut().unwrap().remove("method"); }), "config.method", json!("GET"), Value::Null),
            (Box::new(|v| v["nodes"][1]["data"]["config"]["headers"] = json!({"Accept": "json"})), "config.headers", Value::Null, json!({"Accept": "json"})),
            (Box::new(|v| v["nodes"][1]["type"] = json!("code")), "type", json!("http_request"), json!("code")),
        ];
        for (edit, path, before, after) in cases {
            let d = diff(&def(base()), &edited(edit));
            assert_eq!(d.summary(), DiffSummary { nodes_changed: 1, ..Default::default() }, "{path}");
            let change = &d.nodes_changed[0];
            assert_eq!((change.id.as_str(), change.fields.len()), ("h", 1), "{path}");
            assert_eq!((change.fields[0].path.as_str(), &change.fields[0].before, &change.fields[0].after), (path, &before, &after));
        }
    }

    #[test]
    fn nested_config_changes_name_the_leaf() {
        let from = edited(|v| v["nodes"][1]["data"]["config"]["headers"] = json!({"Accept": "json", "X": "1"}));
        let to = edited(|v| v["nodes"][1]["data"]["config"]["headers"] = json!({"Accept": "xml", "X": "1"}));
        let fields = &diff(&from, &to).nodes_changed[0].fields;
        assert_eq!(fields.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["config.headers.Accept"]);
    }

    #[test]
    fn connections_read_source_label_to_target_label() {
        let to = edited(|v| {
            v["edges"].as_array_mut().unwrap().remove(1);
            v["edges"].as_array_mut().unwrap().push(json!({"id": "e9", "source": "t", "target": "m"}));
        });
        let d = diff(&def(base()), &to);
        assert_eq!(d.summary(), DiffSummary { edges_added: 1, edges_removed: 1, ..Default::default() });
        assert_eq!((d.edges_added[0].source_label.as_str(), d.edges_added[0].target_label.as_str()), ("Start", "Mail"));
        assert_eq!((d.edges_removed[0].source_label.as_str(), d.edges_removed[0].target_label.as_str()), ("Fetch user", "Mail"));
    }

    #[test]
    fn a_removed_node_takes_its_edges_with_it() {
        let to = edited(|v| {
            v["nodes"].as_array_mut().unwrap().remove(1);
            v["edges"] = json!([]);
        });
        let d = diff(&def(base()), &to);
        assert_eq!(d.summary(), DiffSummary { nodes_removed: 1, edges_removed: 2, ..Default::default() });
        assert_eq!(d.nodes_removed[0], NodeRef { id: "h".into(), kind: "http_request".into(), label: "Fetch user".into() });
        // Labels of removed edges come from the version they existed in.
        assert!(d.edges_removed.iter().all(|e| e.source_label == "Fetch user" || e.target_label == "Fetch user"));
        // And back again: the reverse diff adds them.
        let back = diff(&to, &def(base()));
        assert_eq!(back.summary(), DiffSummary { nodes_added: 1, edges_added: 2, ..Default::default() });
    }

    #[test]
    fn long_text_carries_a_line_or_word_diff() {
        let to = edited(|v| v["nodes"][2]["data"]["config"]["body"] = json!("Hello team,\nthe job failed.\nBye"));
        let field = &diff(&def(base()), &to).nodes_changed[0].fields[0];
        assert_eq!(field.path, "config.body");
        let spans = field.text_diff.as_ref().expect("multi-line text gets a diff");
        assert_eq!(
            spans,
            &vec![
                TextSpan { op: SpanOp::Equal, text: "Hello team,\n".into() },
                TextSpan { op: SpanOp::Delete, text: "the job ran.\n".into() },
                TextSpan { op: SpanOp::Insert, text: "the job failed.\n".into() },
                TextSpan { op: SpanOp::Equal, text: "Bye".into() },
            ]
        );
        let words = text_diff(&"lorem ipsum ".repeat(10), &format!("{}dolor", "lorem ipsum ".repeat(10)));
        assert_eq!(words.last().map(|s| (s.op, s.text.as_str())), Some((SpanOp::Insert, "dolor")));
        // Short one-line values need no text diff.
        let short = edited(|v| v["nodes"][2]["data"]["config"]["subject"] = json!("Hello"));
        assert!(diff(&def(base()), &short).nodes_changed[0].fields[0].text_diff.is_none());
    }
}
