//! Test support: the databases every store and API test runs on.
//!
//! SQLite always (a fresh file per call). PostgreSQL when `CHRONICLE_TEST_POSTGRES_URL`
//! names a server: a fresh database is created on it per call. The test command starts a
//! throwaway cluster and sets the variable; without it these tests say loudly they skipped it.

use super::db::{new_id, Db};
use sqlx::{Connection, Executor};

pub const POSTGRES_URL_VAR: &str = "CHRONICLE_TEST_POSTGRES_URL";

pub async fn test_databases() -> Vec<(&'static str, Db)> {
    let mut dbs = Vec::new();
    for (name, url) in test_database_urls().await {
        dbs.push((name, Db::connect(&url).await.expect("test database")));
    }
    dbs
}

/// Fresh, empty databases (not migrated yet) on every backend under test.
pub async fn test_database_urls() -> Vec<(&'static str, String)> {
    let mut urls = vec![("sqlite", sqlite_url())];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => urls.push(("postgres", postgres_url(&url).await)),
        _ => eprintln!("\n*** SKIPPED PostgreSQL: {POSTGRES_URL_VAR} is not set; this test ran on SQLite only ***\n"),
    }
    urls
}

pub async fn sqlite() -> Db {
    Db::connect(&sqlite_url()).await.expect("sqlite test database")
}

pub async fn postgres(admin_url: &str) -> Db {
    Db::connect(&postgres_url(admin_url).await).await.expect("postgres test database")
}

pub(crate) fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("chronicle-test-{}", new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}?mode=rwc", dir.join("test.db").display())
}

async fn postgres_url(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("chronicle_test_{}", new_id().replace('-', ""));
    let mut admin = sqlx::AnyConnection::connect(admin_url).await.expect("connect to the test PostgreSQL server");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').expect("postgres URL with a database name");
    format!("{base}/{name}")
}
