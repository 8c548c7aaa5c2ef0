//! The users table.

use super::db::{is_unique_violation, new_id, now, Db};
use super::passwords;
use crate::error::{ApiError, ApiResult};
use crate::model::UserInfo;

/// Email as typed, trimmed; and its lower-cased key, which is what must be unique (a 422
/// naming `email` when it is no email address).
pub fn normalise_email(email: &str) -> ApiResult<(String, String)> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(ApiError::invalid("email", "must be an email address like ada@example.com"));
    }
    Ok((email.to_owned(), email.to_lowercase()))
}

/// The most characters a name may have, blanks around it included.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name (users, workflows, keys): trimmed, 1–100 characters, no control characters.
pub fn validate_name(field: &str, name: &str) -> ApiResult<String> {
    // Counted before trimming, as the API document states the limit.
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(field, format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    // A line break in a name would forge lines in alert mails and log lines.
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "must not contain control characters (line breaks, tabs…)"));
    }
    Ok(name.to_owned())
}

pub async fn create_user(db: &Db, email: &str, name: &str, password: &str) -> ApiResult<UserInfo> {
    let user = NewUser::prepare(email, name, password).await?;
    let mut conn = db.pool().acquire().await?;
    user.insert(&mut conn).await
}

/// A user checked and hashed, ready to insert (with other rows, in one transaction).
pub struct NewUser {
    info: UserInfo,
    email_key: String,
    hash: String,
}

impl NewUser {
    /// Checks the email, name (field `name`) and password (field `password`) and hashes the
    /// password: the slow part, done before any transaction opens.
    pub async fn prepare(email: &str, name: &str, password: &str) -> ApiResult<NewUser> {
        let (email, email_key) = normalise_email(email)?;
        let name = validate_name("name", name)?;
        passwords::validate_password("password", password)?;
        let hash = passwords::hash_password(password.to_owned()).await?;
        Ok(NewUser { info: UserInfo { id: new_id(), email, name }, email_key, hash })
    }

    /// Inserts the user; an email already registered (any case) is a 422 naming `email`.
    pub async fn insert(self, conn: &mut sqlx::AnyConnection) -> ApiResult<UserInfo> {
        sqlx::query("INSERT INTO users (id, email, email_key, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&self.info.id)
            .bind(&self.info.email)
            .bind(&self.email_key)
            .bind(&self.info.name)
            .bind(&self.hash)
            .bind(now())
            .execute(&mut *conn)
            .await
            .map_err(|e| if is_unique_violation(&e) { ApiError::invalid("email", "is already registered") } else { e.into() })?;
        Ok(self.info)
    }
}

/// The user with this email (any case) and their password hash.
pub async fn find_by_email(db: &Db, email: &str) -> ApiResult<Option<(UserInfo, String)>> {
    let row: Option<(String, String, String, String)> =
        sqlx::query_as("SELECT id, email, name, password_hash FROM users WHERE email_key = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id, email, name, hash)| (UserInfo { id, email, name }, hash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_keyed_case_insensitively() {
        assert_eq!(normalise_email("  Ada@Acme.Test ").unwrap(), ("Ada@Acme.Test".into(), "ada@acme.test".into()));
        for bad in ["", "ada", "@acme.test", "ada@", "ada@acme", "ada@.test", "a da@acme.test"] {
            let err = normalise_email(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("email"), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn duplicate_email_in_any_case_is_refused_on_both_databases() {
        for (backend, db) in crate::backend::testing::test_databases().await {
            create_user(&db, "ada@acme.test", "Ada", "long-enough-password").await.unwrap();
            let err = create_user(&db, "ADA@acme.test", "Ada 2", "long-enough-password").await.unwrap_err();
            assert_eq!((err.status(), err.field.as_deref()), (422, Some("email")), "[{backend}]");
            let err = create_user(&db, "bob@acme.test", "Bob", "short").await.unwrap_err();
            assert_eq!(err.field.as_deref(), Some("password"));
            let (user, hash) = find_by_email(&db, "Ada@Acme.test").await.unwrap().unwrap();
            assert_eq!(user.name, "Ada");
            assert!(hash.starts_with("$argon2id$"), "argon2id, not {hash}");
        }
    }
}
