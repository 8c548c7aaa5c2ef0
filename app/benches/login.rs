//! Sign-in throughput, with and without the throttle in the way: successful logins (Argon2
//! verification, session, durable audit event), refusals of a throttled account (429
//! before any password check, `auth.login_blocked` recorded), and a parallel burst of wrong
//! passwords for one account (how many reach the check, how fast all are answered).
//!
//! `cargo bench -p app --features ssr --bench login` — on SQLite, and on PostgreSQL too when
//! `CHRONICLE_TEST_POSTGRES_URL` is set.

use app::backend::audit::Recorder;
use app::backend::db::Db;
use app::backend::sessions::ClientInfo;
use app::backend::{auth, orgs, testing, users};
use app::error::ErrorKind;
use std::sync::Arc;
use std::time::Instant;

const CLIENTS: usize = 32;

/// `total` logins by `CLIENTS` concurrent callers, each from its own address, as `email`
/// (`{c}` in it: the client's number, so each signs in as its own account); logins/s.
async fn logins(db: &Db, audit: &Recorder, email: &'static str, password: &'static str, total: usize, want: Option<ErrorKind>) -> f64 {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (db, audit) = (db.clone(), audit.clone());
        tasks.spawn(async move {
            let client = ClientInfo { ip: Some(format!("198.51.100.{c}")), user_agent: Some("bench/1".into()) };
            let email = email.replace("{c}", &c.to_string());
            for _ in 0..total / CLIENTS {
                let got = auth::login(&db, &audit, &email, password, &client).await.err().map(|e| e.code);
                assert_eq!(got, want);
            }
        });
    }
    tasks.join_all().await;
    (total / CLIENTS * CLIENTS) as f64 / start.elapsed().as_secs_f64()
}

async fn run(backend: &str, db: Db) {
    let audit = Recorder::start(db.clone(), Arc::new(|| {}));
    // Each concurrent client signs in as its own account: one account's attempts are checked
    // at most 5 at a time (the throttle's slots), the rest refused at once.
    let accounts = (0..CLIENTS).map(|c| (format!("ada{c}@bench.test"), "Ada".to_owned()));
    for (email, name) in accounts.chain([("eve@bench.test".to_owned(), "Eve".to_owned()), ("bob@bench.test".to_owned(), "Bob".to_owned())]) {
        let user = users::create_user(&db, &email, &name, "a-long-bench-password").await.unwrap();
        orgs::create_org(&db, "Bench", &user.id).await.unwrap();
    }
    println!("{backend}:");
    let ok = logins(&db, &audit, "ada{c}@bench.test", "a-long-bench-password", 320, None).await;
    println!("  successful logins ({CLIENTS} concurrent clients, one account each): {ok:.0}/s");
    // Five failures close Eve's account for 15 minutes; every later attempt is refused.
    let client = ClientInfo { ip: Some("203.0.113.9".into()), user_agent: None };
    for _ in 0..5 {
        auth::login(&db, &audit, "eve@bench.test", "wrong", &client).await.unwrap_err();
    }
    let blocked = logins(&db, &audit, "eve@bench.test", "a-long-bench-password", 20_000, Some(ErrorKind::TooManyAttempts)).await;
    println!("  refusals of a throttled account (429, audited): {blocked:.0}/s");
    // A burst: 100 wrong passwords for Bob at once, each from its own address. The slot is
    // taken before the check, so 5 reach Argon2 and the rest are refused at once.
    let started = Instant::now();
    let mut burst = tokio::task::JoinSet::new();
    for c in 0..100 {
        let (db, audit) = (db.clone(), audit.clone());
        burst.spawn(async move {
            let client = ClientInfo { ip: Some(format!("192.0.2.{c}")), user_agent: None };
            auth::login(&db, &audit, "bob@bench.test", "wrong", &client).await.err().map(|e| e.code)
        });
    }
    let outcomes = burst.join_all().await;
    let elapsed = started.elapsed();
    let checked = outcomes.iter().filter(|o| **o == Some(ErrorKind::Unauthorized)).count();
    let refused = outcomes.iter().filter(|o| **o == Some(ErrorKind::TooManyAttempts)).count();
    println!(
        "  a burst of 100 wrong passwords for one account at once: {checked} checked (401), {refused} refused (429), all answered in {:.0} ms ({:.0}/s)",
        elapsed.as_secs_f64() * 1e3,
        100.0 / elapsed.as_secs_f64()
    );
    audit.shutdown().await;
}

#[tokio::main]
async fn main() {
    run("sqlite", testing::sqlite().await).await;
    match std::env::var(testing::POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => run("postgres", testing::postgres(&url).await).await,
        _ => println!("postgres: skipped ({} not set)", testing::POSTGRES_URL_VAR),
    }
}
