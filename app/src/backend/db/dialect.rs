//! What differs between SQLite and PostgreSQL, in one place: the rest of the code asks for
//! the SQL it needs and never which database it runs on.

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(super) fn of(url: &str) -> Result<Dialect, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else {
            Err(sqlx::Error::Configuration("DATABASE_URL must start with sqlite: or postgres:".into()))
        }
    }

    pub(super) fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub(super) fn max_connections(self) -> u32 {
        match self {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 16,
        }
    }

    /// Run on each new connection. SQLite: WAL lets readers run beside the writer; the busy
    /// timeout makes a writer wait for the lock instead of failing at once. A 16 MiB page
    /// cache holds a big audit batch's dirty index pages, and checkpointing every 10,000
    /// pages (40 MiB of WAL) instead of 1,000 copies a hot page once rather than after every
    /// batch (benches/audit.rs).
    pub(super) fn connection_setup(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                 PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000;",
            ),
            Dialect::Postgres => None,
        }
    }

    /// Ends a `SELECT` that claims rows: on PostgreSQL rows another transaction is claiming
    /// are skipped, not waited for. SQLite runs one write at a time, so an `UPDATE … WHERE
    /// key IN (SELECT …)` is atomic there as it is.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Makes the transaction's next read see every `audit_events` insert that took a smaller
    /// `seq`. PostgreSQL hands out `seq` before commit, so a smaller one may commit later:
    /// the lock waits for inserts in flight (they hold ROW EXCLUSIVE) and holds new ones for
    /// the read. SQLite has one writer at a time: a row is visible only once every smaller
    /// `seq` has committed.
    pub fn settle_audit_inserts(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("LOCK TABLE audit_events IN EXCLUSIVE MODE"),
        }
    }

    /// Rows per audit INSERT statement, measured (`benches/audit.rs`): within SQLite's 32,766
    /// and PostgreSQL's 65,535 parameters, longer statements were faster up to these sizes.
    pub fn audit_rows_per_insert(self) -> usize {
        match self {
            Dialect::Sqlite => 1_000,
            Dialect::Postgres => 500,
        }
    }

    /// `INSERT INTO table (columns) VALUES ` for `rows` rows of `columns` values each.
    /// SQLite: OR FAIL spares a multi-row INSERT the statement journal that would let it
    /// undo its own rows on error (the whole transaction rolls back then anyway, and copying
    /// every touched page into that journal cost a third of the ingest rate); and `?` binds
    /// by position, where `$n` is looked up by name, a scan per parameter.
    pub fn bulk_insert(self, table: &str, columns: &str, width: usize, rows: usize) -> String {
        let mut sql = match self {
            Dialect::Sqlite => format!("INSERT OR FAIL INTO {table} ({columns}) VALUES "),
            Dialect::Postgres => format!("INSERT INTO {table} ({columns}) VALUES "),
        };
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ",(" });
            for col in 0..width {
                if col > 0 {
                    sql.push(',');
                }
                match self {
                    Dialect::Sqlite => sql.push('?'),
                    Dialect::Postgres => sql.push_str(&format!("${}", row * width + col + 1)),
                }
            }
            sql.push(')');
        }
        sql
    }

    /// Audit events with their place in the chain (`prev_hash` and `hash`, NULL until
    /// sealed), as a FROM clause. SQLite updates a row in place, so there the hashes are
    /// columns of the event; PostgreSQL would write a new version of every sealed row, so
    /// there they live in the narrow `audit_seals`, written by INSERT and joined on `seq`.
    pub fn audit_events(self) -> &'static str {
        match self {
            Dialect::Sqlite => "audit_events",
            Dialect::Postgres => "audit_events LEFT JOIN audit_seals USING (seq)",
        }
    }

    /// [`Dialect::audit_events`] for a read of `seq > $after_param` (and `<= $until_param`),
    /// or only the sealed ones. The seals are bounded by the same range: PostgreSQL does not
    /// carry a range on one side of a join to the other, and would read every seal for each
    /// page.
    pub fn audit_events_in_range(self, sealed_only: bool, after_param: u8, until_param: Option<u8>) -> String {
        match self {
            Dialect::Sqlite if sealed_only => "(SELECT * FROM audit_events WHERE hash IS NOT NULL) AS audit_events".into(),
            Dialect::Sqlite => "audit_events".into(),
            Dialect::Postgres => {
                let join = if sealed_only { "JOIN" } else { "LEFT JOIN" };
                let until = until_param.map(|p| format!(" AND seq <= ${p}")).unwrap_or_default();
                format!("audit_events {join} (SELECT seq, prev_hash, hash FROM audit_seals WHERE seq > ${after_param}{until}) AS s USING (seq)")
            }
        }
    }

    /// Stores `rows` seals, binds `(seq, prev_hash, hash)` each, where
    /// [`Dialect::audit_events`] reads them; a seal already stored is kept.
    pub fn store_seals(self, rows: usize) -> String {
        let values = (0..rows).map(|i| format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3)).collect::<Vec<_>>().join(", ");
        match self {
            Dialect::Sqlite => format!(
                "UPDATE audit_events SET prev_hash = v.column2, hash = v.column3 FROM (VALUES {values}) AS v \
                 WHERE audit_events.seq = v.column1 AND audit_events.hash IS NULL"
            ),
            Dialect::Postgres => format!("INSERT INTO audit_seals (seq, prev_hash, hash) VALUES {values} ON CONFLICT (seq) DO NOTHING"),
        }
    }

    /// Deletes the seals of an org's events up to a `seq` (binds: org, seq), before the
    /// events themselves; nothing on SQLite, where they go with the events.
    pub fn prune_seals(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("DELETE FROM audit_seals WHERE seq IN (SELECT seq FROM audit_events WHERE org_id = $1 AND seq <= $2)"),
        }
    }

    /// Replaces the seal of event `$1` with a copy of event `$2`'s: a forgery, for the tests
    /// that show verification catches one.
    pub fn forge_seal(self) -> &'static str {
        match self {
            Dialect::Sqlite => "UPDATE audit_events SET (prev_hash, hash) = (SELECT hash, hash FROM audit_events WHERE seq = $2) WHERE seq = $1",
            Dialect::Postgres => "INSERT INTO audit_seals (seq, prev_hash, hash) SELECT $1, hash, hash FROM audit_seals WHERE seq = $2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn bulk_insert_numbers_postgres_parameters_and_uses_positions_on_sqlite() {
        assert_eq!(Dialect::Postgres.bulk_insert("t", "a, b", 2, 2), "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)");
        assert_eq!(Dialect::Sqlite.bulk_insert("t", "a, b", 2, 2), "INSERT OR FAIL INTO t (a, b) VALUES (?,?),(?,?)");
    }
}
