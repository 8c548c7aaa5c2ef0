//! A workflow mail's two parts from its body text: links found in the text are rewritten to
//! `/t/c/{code}` (one signed code per link, carrying the target), the HTML part is escaped
//! and gets the open pixel `/t/o/{code}`. The links found are kept with the message.

use super::codes::{is_web_url, Keys, Payload};
use linkify::{LinkFinder, LinkKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub text: String,
    pub html: String,
    /// The targets the message contains, in order, each once.
    pub links: Vec<String>,
    /// The message's own code (pixel and headers).
    pub code: String,
}

pub fn compose(keys: &Keys, base: &str, message: &Payload, body: &str) -> Composed {
    let code = keys.sign(message);
    let (mut text, mut html, mut links) = (String::new(), String::new(), Vec::<String>::new());
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    for span in finder.spans(body) {
        let part = span.as_str();
        if span.kind() == Some(&LinkKind::Url) && is_web_url(part) {
            let target = part.to_owned();
            let link_code = keys.sign(&Payload { u: Some(target.clone()), ..message.clone() });
            let tracked = format!("{base}/t/c/{link_code}");
            text.push_str(&tracked);
            html.push_str(&format!("<a href=\"{}\">{}</a>", escape(&tracked), escape(part)));
            if !links.contains(&target) {
                links.push(target);
            }
        } else {
            text.push_str(part);
            html.push_str(&escape(part).replace('\n', "<br>\n"));
        }
    }
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<div>{html}</div>\n<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\">\n</body></html>\n",
        escape(&format!("{base}/t/o/{code}"))
    );
    Composed { text, html, links, code }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::tracking::codes::Read;

    #[test]
    fn links_are_rewritten_escaped_and_kept() {
        let keys = Keys::new(&["k"], true);
        let message = Payload { o: "o".into(), w: "w".into(), x: "x".into(), m: "m".into(), d: "d".into(), u: None };
        let body = "Hi <b>you</b>,\nsee https://example.com/a?x=1&y=2 and https://example.com/a?x=1&y=2 or ftp://no.example.";
        let c = compose(&keys, "http://chronicle.test", &message, body);
        assert_eq!(c.links, ["https://example.com/a?x=1&y=2"]);
        assert!(!c.text.contains("https://example.com"), "{}", c.text);
        assert!(c.html.contains("Hi &lt;b&gt;you&lt;/b&gt;,<br>"), "{}", c.html);
        assert!(c.html.contains(&format!("<img src=\"http://chronicle.test/t/o/{}\"", c.code)));
        let first = c.text.split("http://chronicle.test/t/c/").nth(1).unwrap().split(' ').next().unwrap();
        match keys.read(first) {
            Read::Signed(p) => assert_eq!(p.u.as_deref(), Some("https://example.com/a?x=1&y=2")),
            other => panic!("{other:?}"),
        }
        assert!(c.text.contains("ftp://no.example"), "only web links are tracked");
    }
}
