//! A workflow definition — nodes and edges — and its normalisation, the first step of every
//! save.
//!
//! Semantic content: node id, type, data (label, config); edge connectivity (source, target,
//! handles). Everything else is cosmetic (positions, selection, sizes, edge styling…) and is
//! kept, so a preview of an old version looks as it did, but never affects the hash or diff.

use super::catalog;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

pub const MAX_NODES: usize = 20_000;
pub const MAX_EDGES: usize = 60_000;
const MAX_ID_LEN: usize = 128;
const MAX_LABEL_LEN: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeData {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub label: String,
    #[serde(default)]
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Node {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 128))]
    pub id: String,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", schema(value_type = crate::backend::schema::NodeType))]
    pub kind: String,
    #[serde(default)]
    pub position: Position,
    #[serde(default)]
    pub data: NodeData,
    #[serde(default)]
    pub selected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dragging: Option<bool>,
    /// Any other (cosmetic) state a canvas sends, kept as it came.
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Edge {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 128))]
    pub id: String,
    pub source: String,
    pub target: String,
    #[serde(default, alias = "sourceHandle")]
    pub source_handle: Option<String>,
    #[serde(default, alias = "targetHandle")]
    pub target_handle: Option<String>,
    #[serde(default)]
    pub style: Map<String, Value>,
    #[serde(default)]
    pub animated: bool,
    #[serde(flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub extra: Map<String, Value>,
}

impl Edge {
    /// What the edge connects: its semantic identity.
    pub fn connectivity(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (&self.source, &self.target, self.source_handle.as_deref(), self.target_handle.as_deref())
    }
}

impl Definition {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// Checks the structure and brings the definition to its canonical form: legacy config keys
/// renamed, nodes sorted by id, edges by connectivity. Incomplete node configs are fine (a
/// draft always saves); a graph that cannot be a graph is not.
pub fn normalise(mut def: Definition) -> Result<Definition, ApiError> {
    if def.nodes.len() > MAX_NODES {
        return Err(ApiError::invalid("nodes", format!("at most {MAX_NODES} nodes")));
    }
    if def.edges.len() > MAX_EDGES {
        return Err(ApiError::invalid("edges", format!("at most {MAX_EDGES} edges")));
    }
    let mut ids: HashSet<&str> = HashSet::with_capacity(def.nodes.len());
    for (i, node) in def.nodes.iter().enumerate() {
        check_id(|| format!("nodes[{i}].id"), &node.id)?;
        if !ids.insert(node.id.as_str()) {
            return Err(ApiError::invalid(&format!("nodes[{i}].id"), format!("{:?} is used by another node", node.id)));
        }
        if catalog::spec(&node.kind).is_none() {
            return Err(ApiError::invalid(
                &format!("nodes[{}].type", node.id),
                format!("unknown node type {:?}; expected one of {}", node.kind, catalog::type_names().join(", ")),
            ));
        }
        // Bytes bound characters from above: count them only when the bytes are over.
        if node.data.label.len() > MAX_LABEL_LEN && node.data.label.chars().count() > MAX_LABEL_LEN {
            return Err(ApiError::invalid(&format!("nodes[{}].data.label", node.id), format!("at most {MAX_LABEL_LEN} characters")));
        }
    }
    let mut edge_ids = HashSet::with_capacity(def.edges.len());
    for (i, edge) in def.edges.iter().enumerate() {
        check_id(|| format!("edges[{i}].id"), &edge.id)?;
        if !edge_ids.insert(edge.id.as_str()) {
            return Err(ApiError::invalid(&format!("edges[{i}].id"), format!("{:?} is used by another edge", edge.id)));
        }
        for (end, id) in [("source", &edge.source), ("target", &edge.target)] {
            if !ids.contains(id.as_str()) {
                return Err(ApiError::invalid(&format!("edges[{}].{end}", edge.id), format!("no node has the id {id:?}")));
            }
        }
    }
    for node in &mut def.nodes {
        catalog::apply_legacy_keys(&node.kind, &mut node.data.config);
    }
    // Ids are unique, so an unstable sort gives the one order (and is O(n) when sorted already).
    def.nodes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    def.edges.sort_unstable_by(|a, b| a.connectivity().cmp(&b.connectivity()).then_with(|| a.id.cmp(&b.id)));
    Ok(def)
}

/// `field` is named only when the id is refused (formatting it for every node costs more
/// than the check).
fn check_id(field: impl Fn() -> String, id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid(&field(), "must not be empty"));
    }
    // Characters, as the API document counts them; bytes bound them from above.
    if id.len() > MAX_ID_LEN && id.chars().count() > MAX_ID_LEN {
        return Err(ApiError::invalid(&field(), format!("at most {MAX_ID_LEN} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub fn def(value: Value) -> Definition {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn sorts_and_keeps_cosmetic_state() {
        let d = normalise(def(json!({
            "nodes": [
                {"id": "b", "type": "code", "position": {"x": 1, "y": 2}, "data": {"label": "B"}, "zIndex": 3},
                {"id": "a", "type": "manual_trigger", "data": {"label": "A"}}
            ],
            "edges": [{"id": "e1", "source": "a", "target": "b", "sourceHandle": "out", "style": {"stroke": "red"}}]
        })))
        .unwrap();
        assert_eq!(d.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(d.nodes[1].extra["zIndex"], 3);
        assert_eq!(d.edges[0].source_handle.as_deref(), Some("out"));
        assert_eq!(d.edges[0].style["stroke"], "red");
    }

    #[test]
    fn refuses_what_cannot_be_a_graph_naming_the_field() {
        let cases = [
            (json!({"nodes": [{"id": "", "type": "code"}]}), "nodes[0].id"),
            (json!({"nodes": [{"id": "a", "type": "code"}, {"id": "a", "type": "code"}]}), "nodes[1].id"),
            (json!({"nodes": [{"id": "a", "type": "teleport"}]}), "nodes[a].type"),
            (json!({"nodes": [{"id": "a", "type": "code"}], "edges": [{"id": "e", "source": "a", "target": "zz"}]}), "edges[e].target"),
            (json!({"nodes": [{"id": "a", "type": "code"}], "edges": [{"id": "e", "source": "a", "target": "a"}, {"id": "e", "source": "a", "target": "a"}]}), "edges[1].id"),
        ];
        for (input, field) in cases {
            let err = normalise(def(input.clone())).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{input}");
            assert_eq!(err.status(), 422);
        }
    }

    #[test]
    fn incomplete_config_still_saves() {
        let d = normalise(def(json!({"nodes": [{"id": "h", "type": "http_request", "data": {"label": "", "config": {}}}]})));
        assert!(d.is_ok());
    }
}
