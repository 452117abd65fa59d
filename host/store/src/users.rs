//! Users, their passwords (argon2 hashes only), team membership with roles, and API tokens
//! (sha256 hashes only; the clear token is returned once, at creation).

use crate::error::{failed, failed_unique, Result, StoreError};
use crate::ids::{TeamId, TokenId, UserId};
use crate::secrets::{new_token, token_hash};
use crate::store::{flag, get, now_millis, opt_text, text, Dialect, Store};
use crate::teams::{require_name, Team};
use crate::text_enum::text_enum;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sqlx::any::AnyRow;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    /// May do anything on every team (the first user a server makes).
    pub is_admin: bool,
    pub has_password: bool,
    pub created_at: i64,
}

const USER: &str = "id, username, is_admin, password_hash, created_at";

impl FromRow<'_, AnyRow> for User {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(User {
            id: UserId(get(row, "id")?),
            username: text(row, "username")?,
            is_admin: flag(row, "is_admin")?,
            has_password: opt_text(row, "password_hash")?.is_some(),
            created_at: get(row, "created_at")?,
        })
    }
}

text_enum! {
    /// What a member may do on a team; each role includes the ones before it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role ("role") {
        /// Read pipelines, builds and logs.
        Viewer = "viewer",
        /// Also trigger, pause, pin, abort.
        Operator = "operator",
        /// Also set pipelines and manage members.
        Owner = "owner",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const TOKEN: &str = "id, user_id, name, created_at, expires_at, last_used_at";

impl FromRow<'_, AnyRow> for ApiToken {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ApiToken {
            id: TokenId(get(row, "id")?),
            user_id: UserId(get(row, "user_id")?),
            name: text(row, "name")?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
            last_used_at: get(row, "last_used_at")?,
        })
    }
}

/// API tokens carry this prefix.
const API_TOKEN_PREFIX: &str = "pikoci_at_";

/// An argon2id PHC string for `password` with a fresh salt (what `--users` and
/// `pikoci user-password` take). Slow on purpose: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// Whether `password` matches an argon2 PHC string. A malformed hash matches nothing.
pub fn password_matches(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Runs `work` (an argon2 hash: about 19 MiB and tens of milliseconds each) on the blocking pool,
/// at most one per core at once. Unbounded, a burst of logins would hash hundreds of passwords
/// side by side, each with its own 19 MiB, and the server would grow by gigabytes; bounded, the
/// burst waits its turn.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> =
        std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    let _turn = HASHING.acquire().await.map_err(|e| StoreError::PasswordHash(format!("hashing closed: {e}")))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::PasswordHash(format!("hashing task failed: {e}")))
}

impl Store {
    /// A new user, with a password if given (stored as its argon2 hash only).
    pub async fn create_user(&self, username: &str, password: Option<&str>, is_admin: bool) -> Result<User> {
        require_name("user", username)?;
        let hash = match password {
            Some(p) => {
                let p = p.to_string();
                Some(blocking(move || hash_password(&p)).await??)
            }
            None => None,
        };
        self.insert_user(username, hash.as_deref(), is_admin).await
    }

    /// A new user whose password hash was made elsewhere (`--users name:<argon2 hash>`).
    pub async fn create_user_with_hash(&self, username: &str, password_hash: &str, is_admin: bool) -> Result<User> {
        require_name("user", username)?;
        PasswordHash::new(password_hash).map_err(|e| StoreError::Invalid(format!("the password hash for user `{username}` is not a PHC string: {e}")))?;
        self.insert_user(username, Some(password_hash), is_admin).await
    }

    async fn insert_user(&self, username: &str, hash: Option<&str>, is_admin: bool) -> Result<User> {
        sqlx::query_as(&self.sql(format!("INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4) RETURNING {USER}")))
            .bind(username)
            .bind(hash)
            .bind(is_admin as i64)
            .bind(now_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(failed_unique(format!("creating user `{username}`"), format!("user `{username}`")))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query_as(&self.sql(format!("SELECT {USER} FROM users WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading user {id}")))
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as(&self.sql(format!("SELECT {USER} FROM users WHERE username = $1")))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading user `{username}`")))
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        sqlx::query_as(&self.sql(format!("SELECT {USER} FROM users ORDER BY username"))).fetch_all(&self.pool).await.map_err(failed("listing users"))
    }

    /// Replaces the user's password (None: password login disabled).
    pub async fn set_password(&self, user: UserId, password: Option<&str>) -> Result<()> {
        let hash = match password {
            Some(p) => {
                let p = p.to_string();
                Some(blocking(move || hash_password(&p)).await??)
            }
            None => None,
        };
        let sql = self.sql("UPDATE users SET password_hash = $1 WHERE id = $2");
        let query = sqlx::query(&sql).bind(hash).bind(user.0);
        self.change_one(query, format!("setting the password of user {user}"), || format!("user {user}")).await
    }

    /// Replaces the user's password hash with one made elsewhere (`--users name:<argon2 hash>`).
    pub async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<()> {
        PasswordHash::new(password_hash).map_err(|e| StoreError::Invalid(format!("the password hash for user {user} is not a PHC string: {e}")))?;
        let sql = self.sql("UPDATE users SET password_hash = $1 WHERE id = $2");
        let query = sqlx::query(&sql).bind(password_hash).bind(user.0);
        self.change_one(query, format!("setting the password of user {user}"), || format!("user {user}")).await
    }

    /// The user, if `username` exists and `password` is theirs. An unknown user costs the same
    /// hashing time as a wrong password, so timing does not tell which names exist.
    pub async fn verify_password(&self, username: &str, password: &str) -> Result<Option<User>> {
        let row = sqlx::query(&self.sql(format!("SELECT {USER} FROM users WHERE username = $1")))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading user `{username}`")))?;
        let (user, hash) = match &row {
            Some(row) => {
                let user = User::from_row(row).map_err(failed(format!("reading user `{username}`")))?;
                let hash = opt_text(row, "password_hash").map_err(failed(format!("reading user `{username}`")))?;
                (Some(user), hash)
            }
            None => (None, None),
        };
        let password = password.to_string();
        let matches = blocking(move || match hash {
            Some(hash) => password_matches(&hash, &password),
            None => {
                // Spend the time anyway.
                let _ = hash_password(&password);
                false
            }
        })
        .await?;
        Ok(if matches { user } else { None })
    }

    /// Gives the user `role` on the team (replacing any role they had there).
    pub async fn set_member(&self, team: TeamId, user: UserId, role: Role) -> Result<()> {
        let sql = self.sql(match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => {
                "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) \
                 ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role"
            }
            Dialect::Mysql => "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) ON DUPLICATE KEY UPDATE role = VALUES(role)",
        });
        sqlx::query(&sql)
            .bind(team.0)
            .bind(user.0)
            .bind(role.as_str())
            .execute(&self.pool)
            .await
            .map_err(failed(format!("making user {user} a member of team {team}")))?;
        Ok(())
    }

    /// False if the user was not a member.
    pub async fn remove_member(&self, team: TeamId, user: UserId) -> Result<bool> {
        let sql = self.sql("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2");
        let query = sqlx::query(&sql).bind(team.0).bind(user.0);
        Ok(self.rows_changed(query, format!("removing user {user} from team {team}")).await? > 0)
    }

    /// The user's role on the team, if a member.
    pub async fn role(&self, team: TeamId, user: UserId) -> Result<Option<Role>> {
        let row = sqlx::query(&self.sql("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2"))
            .bind(team.0)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(format!("reading the role of user {user} on team {team}")))?;
        row.as_ref().map(|row| Role::decode(row, "role")).transpose().map_err(failed(format!("reading the role of user {user} on team {team}")))
    }

    /// The team's members and their roles, by username.
    pub async fn members(&self, team: TeamId) -> Result<Vec<(User, Role)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT u.id, u.username, u.is_admin, u.password_hash, u.created_at, m.role \
             FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.username",
        ))
        .bind(team.0)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("listing members of team {team}")))?;
        rows.iter()
            .map(|row| Ok((User::from_row(row)?, Role::decode(row, "role")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(failed(format!("listing members of team {team}")))
    }

    /// The teams the user belongs to, with their role on each, by team name.
    pub async fn teams_of(&self, user: UserId) -> Result<Vec<(Team, Role)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT t.id, t.name, t.created_at, m.role FROM team_members m JOIN teams t ON t.id = m.team_id \
             WHERE m.user_id = $1 ORDER BY t.name",
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(failed(format!("listing the teams of user {user}")))?;
        rows.iter()
            .map(|row| Ok((Team::from_row(row)?, Role::decode(row, "role")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(failed(format!("listing the teams of user {user}")))
    }

    /// A new API token for the user. The returned string is the token: shown now, never again
    /// (the store keeps its sha256).
    pub async fn create_token(&self, user: UserId, name: &str, expires_at: Option<i64>) -> Result<(ApiToken, String)> {
        let token = new_token(API_TOKEN_PREFIX);
        let row = sqlx::query_as(&self.sql(format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING {TOKEN}"
        )))
        .bind(user.0)
        .bind(name)
        .bind(token_hash(&token))
        .bind(now_millis())
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(failed(format!("creating token `{name}` for user {user}")))?;
        Ok((row, token))
    }

    /// The user a token belongs to, if it exists and has not expired; notes its use.
    pub async fn verify_token(&self, token: &str) -> Result<Option<(User, ApiToken)>> {
        let now = now_millis();
        let action = "checking an API token";
        let hash = token_hash(token);
        let update = "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND (expires_at IS NULL OR expires_at > $3)";
        let found: Option<ApiToken> = match self.dialect() {
            Dialect::Sqlite | Dialect::Postgres => sqlx::query_as(&self.sql(format!("{update} RETURNING {TOKEN}")))
                .bind(now)
                .bind(&hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(failed(action))?,
            // No UPDATE ... RETURNING on MariaDB: update, then read the row back in the same
            // transaction, whose lock keeps a revocation from slipping in between.
            Dialect::Mysql => {
                let mut tx = self.pool.begin().await.map_err(failed(action))?;
                let used = sqlx::query(&self.sql(update)).bind(now).bind(&hash).bind(now).execute(&mut *tx).await.map_err(failed(action))?;
                let found = if used.rows_affected() == 0 {
                    None
                } else {
                    sqlx::query_as(&self.sql(format!("SELECT {TOKEN} FROM api_tokens WHERE token_hash = $1")))
                        .bind(&hash)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(action))?
                };
                tx.commit().await.map_err(failed(action))?;
                found
            }
        };
        let Some(found) = found else { return Ok(None) };
        let user = self.user(found.user_id).await?;
        Ok(user.map(|u| (u, found)))
    }

    pub async fn tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        sqlx::query_as(&self.sql(format!("SELECT {TOKEN} FROM api_tokens WHERE user_id = $1 ORDER BY id")))
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(failed(format!("listing the tokens of user {user}")))
    }

    /// False if there was no such token.
    pub async fn revoke_token(&self, id: TokenId) -> Result<bool> {
        let sql = self.sql("DELETE FROM api_tokens WHERE id = $1");
        let query = sqlx::query(&sql).bind(id.0);
        Ok(self.rows_changed(query, format!("revoking token {id}")).await? > 0)
    }
}
