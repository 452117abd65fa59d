//! Users at server start: `--users NAME:HASH` applied idempotently, and on a server with no
//! users a random admin password, printed once (pikoci has no well-known default password).

use pikoci_store::Store;

/// Make the hash `pikoci user-password` prints for a password.
pub fn hash_for_flag(username: &str, password: &str) -> anyhow::Result<String> {
    Ok(format!("{username}:{}", pikoci_store::hash_password(password)?))
}

pub async fn apply_users_flag(store: &Store, users: &[String]) -> anyhow::Result<()> {
    for entry in users {
        let Some((name, hash)) = entry.split_once(':') else {
            anyhow::bail!("--users entry `{}` is not USERNAME:HASH; make one with `pikoci user-password -u NAME`", entry.split(':').next().unwrap_or(""));
        };
        if !hash.starts_with("$argon2") {
            anyhow::bail!("--users entry for `{name}` is not an argon2 hash; make one with `pikoci user-password -u {name}`");
        }
        match store.user_by_name(name).await? {
            Some(user) => store.set_password_hash(user.id, hash).await?,
            None => {
                let is_first = store.users().await?.is_empty();
                store.create_user_with_hash(name, hash, is_first).await?;
            }
        }
    }
    Ok(())
}

/// On a server with no users at all, create `admin` with a random password and return it, to be
/// shown once to whoever started the server.
pub async fn ensure_admin(store: &Store) -> anyhow::Result<Option<String>> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    use rand::Rng;
    let password: String = rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(24).map(char::from).collect();
    store.create_user("admin", Some(&password), true).await?;
    Ok(Some(password))
}
