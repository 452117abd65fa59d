use crate::common::TestDb;
use crate::on_every_backend;
use pikoci_store::{Role, StoreError};

on_every_backend!(passwords_tokens_and_roles);

const PASSWORD: &str = "correct horse battery staple";

async fn passwords_tokens_and_roles(db: TestDb) {
    let store = &db.store;
    let ada = store.create_user("ada", Some(PASSWORD), true).await.unwrap();
    assert!(ada.is_admin && ada.has_password);
    assert!(matches!(store.create_user("ada", None, false).await, Err(StoreError::AlreadyExists(_))));
    let bob = store.create_user("bob", None, false).await.unwrap();
    assert!(!bob.has_password);

    assert_eq!(store.verify_password("ada", PASSWORD).await.unwrap().map(|u| u.id), Some(ada.id));
    assert!(store.verify_password("ada", "wrong").await.unwrap().is_none());
    assert!(store.verify_password("nobody", PASSWORD).await.unwrap().is_none());
    assert!(store.verify_password("bob", "").await.unwrap().is_none(), "no password, no login");
    store.set_password(ada.id, Some("new secret")).await.unwrap();
    assert!(store.verify_password("ada", PASSWORD).await.unwrap().is_none());
    assert!(store.verify_password("ada", "new secret").await.unwrap().is_some());

    // A hash made elsewhere (`pikoci user-password` for --users).
    let hash = pikoci_store::hash_password("from the command line").unwrap();
    store.create_user_with_hash("carol", &hash, false).await.unwrap();
    assert!(store.verify_password("carol", "from the command line").await.unwrap().is_some());
    assert!(matches!(store.create_user_with_hash("dave", "plain text", false).await, Err(StoreError::Invalid(_))));

    let (token_row, token) = store.create_token(ada.id, "ci script", None).await.unwrap();
    let (user, used) = store.verify_token(&token).await.unwrap().unwrap();
    assert_eq!((user.id, used.id), (ada.id, token_row.id));
    assert!(used.last_used_at.is_some());
    assert!(store.verify_token("pikoci_at_not-a-token").await.unwrap().is_none());
    let (_, expired) = store.create_token(ada.id, "old", Some(1)).await.unwrap();
    assert!(store.verify_token(&expired).await.unwrap().is_none(), "expired");
    assert_eq!(store.tokens(ada.id).await.unwrap().len(), 2);
    assert!(store.revoke_token(token_row.id).await.unwrap());
    assert!(store.verify_token(&token).await.unwrap().is_none(), "revoked");

    let main = store.create_team("main").await.unwrap();
    let other = store.create_team("other").await.unwrap();
    store.set_member(main.id, bob.id, Role::Viewer).await.unwrap();
    store.set_member(main.id, bob.id, Role::Operator).await.unwrap();
    store.set_member(other.id, bob.id, Role::Owner).await.unwrap();
    store.set_member(main.id, ada.id, Role::Owner).await.unwrap();
    assert_eq!(store.role(main.id, bob.id).await.unwrap(), Some(Role::Operator));
    let members: Vec<_> = store.members(main.id).await.unwrap().into_iter().map(|(u, r)| (u.username, r)).collect();
    assert_eq!(members, [("ada".to_string(), Role::Owner), ("bob".to_string(), Role::Operator)]);
    let teams: Vec<_> = store.teams_of(bob.id).await.unwrap().into_iter().map(|(t, r)| (t.name, r)).collect();
    assert_eq!(teams, [("main".to_string(), Role::Operator), ("other".to_string(), Role::Owner)]);
    assert!(Role::Owner > Role::Operator && Role::Operator > Role::Viewer);
    assert!(store.remove_member(main.id, bob.id).await.unwrap());
    assert_eq!(store.role(main.id, bob.id).await.unwrap(), None);

    // Look at the raw tables as anyone holding the database would: no password, no token.
    let (_, live_token) = store.create_token(bob.id, "live", None).await.unwrap();
    if let Some(raw) = db.raw_or_none().await {
        let hashes = crate::common::raw_texts(&raw, "SELECT password_hash FROM users ORDER BY username").await;
        for hash in hashes.iter().flatten() {
            assert!(hash.starts_with("$argon2id$"), "{hash}");
            for secret in [PASSWORD, "new secret", "from the command line"] {
                assert!(!hash.contains(secret));
            }
        }
        let token_hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(&raw).await.unwrap();
        assert_eq!(token_hashes.len(), 2);
        for stored in &token_hashes {
            assert_eq!(stored.len(), 64, "a sha256");
            assert!(!stored.contains(&live_token) && !live_token.contains(stored.as_str()));
        }
        raw.close().await;
    }
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        // The whole file (and its write-ahead log), not just the columns we know of.
        for file in [path.to_string(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [PASSWORD, "new secret", live_token.as_str()] {
                assert!(!text.contains(secret), "{secret} in clear in {file}");
            }
        }
    }
}
