//! A `condition` node's expression: `path op literal`, evaluated on the trigger payload, e.g.
//! `amount > 10`, `customer.tier == "gold"`, `tags contains "vip"`. Parsed at strict
//! validation (a bad one is a 422 naming the node) and again when it runs.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Dotted keys into the payload (`customer.tier` → `["customer", "tier"]`).
    pub path: Vec<String>,
    pub op: Op,
    pub literal: Value,
}

const OPS: [(&str, Op); 7] =
    [("==", Op::Eq), ("!=", Op::Ne), (">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt), ("contains", Op::Contains)];

/// Parses `path op literal`; the error says what is wrong, for a 422 message.
pub fn parse(expression: &str) -> Result<Condition, String> {
    let text = expression.trim();
    let path_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(text.len());
    let path_text = &text[..path_end];
    let path: Vec<String> = path_text.split('.').map(str::to_owned).collect();
    if path_text.is_empty() || path.iter().any(String::is_empty) {
        return Err("must start with a payload path such as amount or customer.tier".into());
    }
    let rest = text[path_end..].trim_start();
    let Some((symbol, op)) = OPS.iter().find(|(symbol, _)| rest.starts_with(symbol)) else {
        return Err(format!("needs an operator after {path_text}: one of ==, !=, >, >=, <, <=, contains"));
    };
    let literal_text = rest[symbol.len()..].trim();
    if *op == Op::Contains && !rest[symbol.len()..].starts_with(char::is_whitespace) {
        return Err("contains needs a space before its value".into());
    }
    let literal = parse_literal(literal_text)?;
    Ok(Condition { path, op: *op, literal })
}

fn parse_literal(text: &str) -> Result<Value, String> {
    let invalid = || format!("the value {text:?} must be a number, \"quoted text\", true, false or null");
    if text.is_empty() {
        return Err("needs a value after the operator".into());
    }
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Value::String(inner.to_owned()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::String(_) | Value::Bool(_) | Value::Null)) => Ok(v),
        _ => Err(invalid()),
    }
}

impl Condition {
    /// Whether the condition holds for `payload`. A missing path reads as null; comparing
    /// values of different kinds is false (never an error: the branch just stops).
    pub fn holds(&self, payload: &Value) -> bool {
        let value = self.path.iter().try_fold(payload, |v, key| v.get(key)).unwrap_or(&Value::Null);
        let order = match (value, &self.literal) {
            (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        };
        use std::cmp::Ordering::*;
        match self.op {
            Op::Eq => order == Some(Equal) || (order.is_none() && value == &self.literal),
            Op::Ne => !(order == Some(Equal) || (order.is_none() && value == &self.literal)),
            Op::Gt => order == Some(Greater),
            Op::Ge => matches!(order, Some(Greater | Equal)),
            Op::Lt => order == Some(Less),
            Op::Le => matches!(order, Some(Less | Equal)),
            Op::Contains => match (value, &self.literal) {
                (Value::String(s), Value::String(part)) => s.contains(part.as_str()),
                (Value::Array(items), literal) => items.contains(literal),
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_parse_and_evaluate_on_the_payload() {
        let payload = json!({"amount": 12.5, "customer": {"tier": "gold"}, "tags": ["vip"], "ok": true});
        let cases = [
            ("amount > 10", true),
            ("amount >= 12.5", true),
            ("amount < 10", false),
            ("amount == 12.5", true),
            ("customer.tier == \"gold\"", true),
            ("customer.tier != 'gold'", false),
            ("tags contains \"vip\"", true),
            ("customer.tier contains \"ol\"", true),
            ("ok == true", true),
            ("missing == null", true),
            ("missing > 1", false),
            ("customer.tier > 3", false),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap().holds(&payload), want, "{text}");
        }
    }

    #[test]
    fn bad_expressions_say_why() {
        for bad in ["", "> 3", "amount", "amount ~ 3", "amount >", "amount > gold", "a..b == 1", "tagscontains 1", "amount > [1]"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
