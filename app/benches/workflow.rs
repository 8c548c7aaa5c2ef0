//! Workflow benchmarks: normalise+hash and semantic diff on generated workflows of 200, 2,000
//! and 10,000 nodes (edges ≈ 1.5× nodes, realistic configs), and the first history page of a
//! workflow with 10,000 versions on SQLite. Prints medians; run with
//! `cargo bench -p app --features ssr --bench workflow`.

use app::backend::testing;
use app::backend::workflows::{self, SaveInput};
use app::backend::audit::Recorder;
use app::backend::sessions::ClientInfo;
use app::backend::{orgs, users, Acting};
use app::model::{Actor, VersionSource};
use app::workflow::definition::normalise;
use app::workflow::{content_hash, diff, Definition};
use serde_json::json;
use std::time::{Duration, Instant};

const KINDS: [&str; 6] = ["http_request", "send_email", "condition", "code", "read_contract", "webhook_trigger"];

fn generate(n: usize) -> Definition {
    let nodes: Vec<_> = (0..n)
        .map(|i| {
            let kind = KINDS[i % KINDS.len()];
            let config = match kind {
                "http_request" => json!({"url": format!("https://api.acme.test/v1/items/{i}"), "method": "POST", "body": format!("{{\"id\": {i}, \"note\": \"generated payload for node {i}\"}}")}),
                "send_email" => json!({"to": "ops@acme.test", "subject": format!("Report {i}"), "body": format!("Hello,\nthe report {i} is ready.\nRegards")}),
                "condition" => json!({"expression": format!("input.value > {i}")}),
                "code" => json!({"language": "javascript", "code": format!("const x = input.n * {i};\nreturn {{ x }};")}),
                "read_contract" => json!({"network": "base", "contractAddress": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "abiFunction": "balanceOf", "functionArgs": [format!("0x{i:040x}")]}),
                _ => json!({"path": format!("/hooks/{i}"), "method": "POST"}),
            };
            json!({"id": format!("n{i:05}"), "type": kind, "position": {"x": (i % 50) * 220, "y": (i / 50) * 90},
                   "data": {"label": format!("Step {i}"), "config": config}, "width": 180, "height": 56})
        })
        .collect();
    let mut edges = Vec::new();
    for i in 1..n {
        edges.push(json!({"id": format!("a{i}"), "source": format!("n{:05}", i - 1), "target": format!("n{i:05}")}));
        if i % 2 == 0 && i >= 2 {
            edges.push(json!({"id": format!("b{i}"), "source": format!("n{:05}", i - 2), "target": format!("n{i:05}")}));
        }
    }
    serde_json::from_value(json!({"nodes": nodes, "edges": edges})).unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure(iters: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median((0..iters).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed()
    }).collect())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    println!("workflow benchmarks (median)");
    for n in [200, 2_000, 10_000] {
        let raw = generate(n);
        let iters = if n > 5_000 { 15 } else { 50 };
        // Inputs are cloned outside the timed part: a save owns its definition already.
        let inputs: Vec<Definition> = (0..=iters).map(|_| raw.clone()).collect();
        let mut inputs = inputs.into_iter();
        let norm = measure(iters, || {
            std::hint::black_box(normalise(inputs.next().unwrap()).unwrap());
        });
        let a = normalise(raw.clone()).unwrap();
        let hash = measure(iters, || {
            std::hint::black_box(content_hash(&a));
        });
        let mut b = a.clone();
        for node in b.nodes.iter_mut().step_by(100) {
            node.data.label.push_str(" (edited)");
        }
        let d = measure(iters, || {
            std::hint::black_box(diff(&a, &b));
        });
        assert_eq!(diff(&a, &b).nodes_changed.len(), n / 100);
        println!(
            "  {n:>6} nodes, {:>6} edges: normalise {:>10}   hash {:>10}   normalise+hash {:>10}   diff (1% changed) {:>10}",
            a.edges.len(),
            ms(norm),
            ms(hash),
            ms(norm + hash),
            ms(d)
        );
    }

    let db = testing::sqlite().await;
    let user = users::create_user(&db, "bench@acme.test", "Bench", "bench-password").await.unwrap();
    let org = orgs::create_org(&db, "Bench", &user.id).await.unwrap();
    let (audit, client) = (Recorder::start(db.clone(), std::sync::Arc::new(|| {})), ClientInfo::default());
    let actor = Acting { actor: Actor::user(&user), client: &client, audit: &audit };
    let def = |i: usize| -> Definition {
        serde_json::from_value(json!({"nodes": [
            {"id": "t", "type": "manual_trigger", "data": {"label": "Start"}},
            {"id": "h", "type": "http_request", "data": {"label": format!("Fetch {i}"), "config": {"url": "https://a.test", "method": "GET"}}}
        ], "edges": [{"id": "e", "source": "t", "target": "h"}]}))
        .unwrap()
    };
    let input = |i| SaveInput { name: Some("Bench".into()), definition: def(i), enabled: None, label: None, base_version: None, author_role: app::model::Role::Admin };
    let started = Instant::now();
    let id = workflows::save(&db, &org.id, None, input(0), &actor, VersionSource::Create).await.unwrap().workflow.id;
    for i in 1..10_000 {
        workflows::save(&db, &org.id, Some(&id), input(i), &actor, VersionSource::Api).await.unwrap();
    }
    let fill = started.elapsed();
    let mut samples = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let page = workflows::history(&db, &org.id, &id, Some(50), None).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(page.versions[0].version, 10_000);
    }
    println!(
        "  history first page (50 of 10,000 versions, SQLite): {}   (10,000 saves through the save path took {:.1} s)",
        ms(median(samples)),
        fill.as_secs_f64()
    );
}
