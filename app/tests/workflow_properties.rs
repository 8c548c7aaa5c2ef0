//! Properties of the pure workflow logic over generated workflows: the content hash ignores
//! key order, node and edge order and every cosmetic field; the diff of a workflow with
//! itself is empty; a diff is empty exactly when the hashes agree; added and removed nodes
//! are the set differences of the ids, added and removed connections those of the edges; the
//! canonical form writes every string exactly as serde_json does.

use app::workflow::definition::normalise;
use app::workflow::hash::canonical_semantic;
use app::workflow::{content_hash, diff, Definition, Edge, Node, NodeData, Position};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

const KINDS: [&str; 5] = ["manual_trigger", "http_request", "send_email", "condition", "code"];

fn config() -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![any::<i64>().prop_map(Value::from), "[ -~]{0,12}".prop_map(Value::from), any::<bool>().prop_map(Value::from)];
    prop::collection::btree_map("[a-z]{1,6}", value, 0..4).prop_map(|m| m.into_iter().collect())
}

fn node(id: String) -> impl Strategy<Value = Node> {
    (prop::sample::select(KINDS.to_vec()), "[A-Za-z ]{0,10}", config(), -500.0..500.0f64, -500.0..500.0f64).prop_map(
        move |(kind, label, config, x, y)| Node {
            id: id.clone(),
            kind: kind.into(),
            position: Position { x, y },
            data: NodeData { label, config },
            selected: false,
            width: None,
            height: None,
            dragging: None,
            extra: Map::new(),
        },
    )
}

/// A workflow over some of the ids n0…n7, with edges between its nodes.
fn workflow() -> impl Strategy<Value = Definition> {
    prop::collection::btree_set(0..8u8, 0..8)
        .prop_flat_map(|ids| {
            let ids: Vec<String> = ids.into_iter().map(|i| format!("n{i}")).collect();
            let nodes: Vec<_> = ids.iter().cloned().map(node).collect();
            let pairs = if ids.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                prop::collection::vec((prop::sample::select(ids.clone()), prop::sample::select(ids)), 0..10).boxed()
            };
            (nodes, pairs)
        })
        .prop_map(|(nodes, pairs)| {
            let mut seen = BTreeSet::new();
            let edges = pairs
                .into_iter()
                .filter(|p| seen.insert(p.clone()))
                .enumerate()
                .map(|(i, (source, target))| Edge {
                    id: format!("e{i}"),
                    source,
                    target,
                    source_handle: None,
                    target_handle: None,
                    style: Map::new(),
                    animated: false,
                    extra: Map::new(),
                })
                .collect();
            normalise(Definition { nodes, edges }).expect("generated workflows are valid")
        })
}

/// The same workflow as another client might send it: nodes and edges in another order,
/// config keys in another order, and every cosmetic field changed.
fn as_sent_differently(def: &Definition, seed: u64) -> Definition {
    let mut d = def.clone();
    d.nodes.reverse();
    d.edges.reverse();
    for (i, n) in d.nodes.iter_mut().enumerate() {
        n.position = Position { x: n.position.x + seed as f64, y: -n.position.y };
        n.selected = i % 2 == 0;
        n.width = Some(180.0 + i as f64);
        n.height = Some(56.0);
        n.dragging = Some(true);
        n.data.config = n.data.config.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    for e in &mut d.edges {
        e.animated = true;
        e.style.insert("stroke".into(), Value::from("#f00"));
    }
    normalise(d).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_hash_ignores_order_and_cosmetics(def in workflow(), seed in 0..1000u64) {
        let other = as_sent_differently(&def, seed);
        prop_assert_eq!(content_hash(&def), content_hash(&other));
        prop_assert!(diff(&def, &other).is_empty());
    }

    #[test]
    fn a_workflow_has_no_diff_with_itself(def in workflow()) {
        prop_assert!(diff(&def, &def).is_empty());
    }

    #[test]
    fn a_diff_is_empty_exactly_when_the_hashes_agree(a in workflow(), b in workflow()) {
        prop_assert_eq!(diff(&a, &b).is_empty(), content_hash(&a) == content_hash(&b));
    }

    #[test]
    fn added_and_removed_nodes_are_the_set_differences(a in workflow(), b in workflow()) {
        let d = diff(&a, &b);
        let ids = |def: &Definition| def.nodes.iter().map(|n| n.id.clone()).collect::<BTreeSet<_>>();
        let added: BTreeSet<String> = d.nodes_added.iter().map(|n| n.id.clone()).collect();
        let removed: BTreeSet<String> = d.nodes_removed.iter().map(|n| n.id.clone()).collect();
        prop_assert_eq!(added, ids(&b).difference(&ids(&a)).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(removed, ids(&a).difference(&ids(&b)).cloned().collect::<BTreeSet<_>>());
        // A node in both that changed is listed once.
        let changed: Vec<&String> = d.nodes_changed.iter().map(|n| &n.id).collect();
        let distinct: BTreeSet<&String> = changed.iter().copied().collect();
        prop_assert_eq!(changed.len(), distinct.len());
    }

    #[test]
    fn added_and_removed_edges_are_the_set_differences(a in workflow(), b in workflow()) {
        let d = diff(&a, &b);
        let ends = |def: &Definition| def.edges.iter().map(|e| (e.source.clone(), e.target.clone())).collect::<BTreeSet<_>>();
        let added: BTreeSet<_> = d.edges_added.iter().map(|e| (e.source.clone(), e.target.clone())).collect();
        let removed: BTreeSet<_> = d.edges_removed.iter().map(|e| (e.source.clone(), e.target.clone())).collect();
        prop_assert_eq!(added.len(), d.edges_added.len());
        prop_assert_eq!(added, ends(&b).difference(&ends(&a)).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(removed, ends(&a).difference(&ends(&b)).cloned().collect::<BTreeSet<_>>());
    }

    #[test]
    fn the_canonical_form_writes_strings_as_serde_json_does(id in "(?s).{1,20}", label in any::<String>(), key in any::<String>(), text in any::<String>()) {
        let def: Definition = serde_json::from_value(serde_json::json!({
            "nodes": [{"id": id, "type": "code", "data": {"label": label, "config": {key.clone(): text}}}]
        })).unwrap();
        let json = |s: &String| serde_json::to_string(s).unwrap();
        let expected = format!(
            r#"{{"edges":[],"nodes":[{{"data":{{"config":{{{}:{}}},"label":{}}},"id":{},"type":"code"}}]}}"#,
            json(&key), json(&text), json(&label), json(&id)
        );
        prop_assert_eq!(canonical_semantic(&normalise(def).unwrap()), expected);
    }
}
