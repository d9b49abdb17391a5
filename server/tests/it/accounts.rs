use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{backend_tests, token_in_mail};

backend_tests! {
    async fn register_creates_a_pending_dossier(app) {
        let reply = app
            .post("/api/v1/auth/register", None, json!({
                "email": " Nouvelle.Famille@Example.FR ", "password": "un-mot-de-passe-solide",
                "first_name": "Marie", "last_name": "Curie"
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let family_id = reply.body["family_id"].as_str().unwrap().to_owned();
        assert!(reply.body["account_id"].is_string());

        let tokens = app.login("nouvelle.famille@example.fr", "un-mot-de-passe-solide").await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(family.status, StatusCode::OK);
        assert_eq!(family.body["id"], family_id.as_str());
        assert_eq!(family.body["status"], "pending");
        assert_eq!(family.body["guardians"][0]["first_name"], "Marie");
        assert_eq!(family.body["guardians"][0]["has_account"], true);
        assert_eq!(family.body["children"].as_array().unwrap().len(), 0);

        // Same address again, whatever the case: refused, nothing created.
        let again = app
            .post("/api/v1/auth/register", None, json!({
                "email": "NOUVELLE.famille@example.fr", "password": "un-autre-mot-de-passe",
                "first_name": "Pierre", "last_name": "Curie"
            }))
            .await;
        again.problem(StatusCode::CONFLICT, "email_taken");
    }

    async fn text_typed_on_another_keyboard_is_the_same_text(app) {
        let app = app.with_demo().await;
        let nfc = "Vacances-\u{e9}t\u{e9}-\u{e0}-No\u{eb}l";
        let nfd = "Vacances-e\u{301}te\u{301}-a\u{300}-Noe\u{308}l";
        let reply = app
            .post("/api/v1/auth/register", None, json!({
                "email": "he\u{301}le\u{300}ne@famille.example", "password": nfc,
                "first_name": "He\u{301}le\u{300}ne", "last_name": "Dupre\u{301}"
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        // Password and address typed the other way (and the address in capitals).
        let tokens = app.login("H\u{c9}L\u{c8}NE@famille.example", nfd).await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(family.body["guardians"][0]["first_name"], "H\u{e9}l\u{e8}ne", "names are stored in NFC");
        app.post("/api/v1/auth/register", None, json!({
                "email": "h\u{e9}l\u{e8}ne@famille.example", "password": "un-autre-mot-de-passe",
                "first_name": "Autre", "last_name": "Personne"
            }))
            .await
            .problem(StatusCode::CONFLICT, "email_taken");

        // Addresses that would display like another parent's are refused.
        for spoof in ["par\u{200b}ent@famille.example", "p\u{430}rent@famille.example", "parent\u{202e}@famille.example"] {
            let reply = app
                .post("/api/v1/auth/register", None, json!({
                    "email": spoof, "password": "un-mot-de-passe-solide", "first_name": "Faux", "last_name": "Parent"
                }))
                .await;
            reply.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
            assert_eq!(reply.body["errors"][0]["field"], "email", "{spoof:?}");
        }

        // A hash made before normalisation (from NFD bytes) still logs in, and is
        // upgraded so that the NFC form works from then on.
        use argon2::password_hash::PasswordHasher as _;
        let legacy = argon2::Argon2::default().hash_password(nfd.as_bytes()).unwrap().to_string();
        let parent = app.state.db.accounts().by_email("parent@famille.example").await.unwrap().unwrap();
        app.state.db.accounts().set_password_hash(parent.id, &legacy).await.unwrap();
        app.post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": nfc}))
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        app.login("parent@famille.example", nfd).await;
        app.login("parent@famille.example", nfc).await;
    }

    async fn register_reports_every_bad_field(app) {
        let reply = app
            .post("/api/v1/auth/register", None, json!({
                "email": "pas-une-adresse", "password": "court", "first_name": " ", "last_name": "Curie"
            }))
            .await;
        reply.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let fields: Vec<&str> = reply.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["email", "first_name", "password"]);
        for error in reply.body["errors"].as_array().unwrap() {
            assert!(!error["detail"].as_str().unwrap().is_empty());
        }
    }

    async fn login_remember_me_and_wrong_passwords(app) {
        let app = app.with_demo().await;
        let short = app
            .post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "demo-parent-pw"}))
            .await;
        assert_eq!(short.status, StatusCode::OK);
        assert_eq!(short.body["token_type"], "Bearer");
        assert_eq!(short.body["expires_in"], 900);
        assert_eq!(short.body["refresh_expires_in"], 12 * 3600);
        let long = app
            .post("/api/v1/auth/login", None, json!({"email": "PARENT@famille.example", "password": "demo-parent-pw", "remember_me": true}))
            .await;
        assert_eq!(long.body["refresh_expires_in"], 90 * 24 * 3600);

        let wrong = app
            .post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "mauvais-mot-de-passe"}))
            .await;
        let detail = wrong.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(detail.contains("incorrect"));
        let unknown = app
            .post("/api/v1/auth/login", None, json!({"email": "personne@famille.example", "password": "demo-parent-pw"}))
            .await;
        let without_id = |mut body: Value| {
            body.as_object_mut().unwrap().remove("request_id");
            body
        };
        assert_eq!(without_id(unknown.body), without_id(wrong.body.clone()), "an unknown address answers exactly like a wrong password");
        // An imported dossier has no password yet: same answer.
        let imported = app
            .post("/api/v1/auth/login", None, json!({"email": "import@famille.example", "password": "n-importe-quoi"}))
            .await;
        imported.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }

    async fn refresh_rotates_and_reuse_revokes_the_chain(app) {
        let app = app.with_demo().await;
        let first = app.parent().await;
        let second = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.body);
        let second_refresh = second.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second_refresh, first.refresh);
        let access = second.body["access_token"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/family", access).await.status, StatusCode::OK);

        // The second token is used: the first one presented again is a replay by
        // someone else. Refused, and the whole chain dies.
        let third = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": second_refresh})).await;
        assert_eq!(third.status, StatusCode::OK);
        let replay = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        let detail = replay.problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");
        assert!(detail.contains("sur cet appareil"), "only this login ends: {detail}");
        let successor = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": third.body["refresh_token"]})).await;
        successor.problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");

        // Another login (another chain, e.g. another phone) is untouched.
        let other = app.parent().await;
        let _ = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": "inconnu"})).await
            .problem(StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(app.post("/api/v1/auth/refresh", None, json!({"refresh_token": other.refresh})).await.status, StatusCode::OK);
    }

    async fn a_lost_answer_does_not_log_the_phone_out(app) {
        let app = app.with_demo().await;
        let first = app.parent().await;
        // The phone refreshes; the answer is lost on the way.
        let lost = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        assert_eq!(lost.status, StatusCode::OK);
        // It retries with the same token a few seconds later: a valid pair of the same login.
        app.state.clock.advance(chrono::Duration::seconds(20));
        let retried = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
        let next = retried.body["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/api/v1/family", retried.body["access_token"].as_str().unwrap()).await.status, StatusCode::OK);
        // The lost successor no longer works, and presenting it is treated as theft.
        let stolen = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": lost.body["refresh_token"]})).await;
        stolen.problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": next})).await
            .problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");

        // Past the grace, the same retry is a replay: refused.
        let fresh = app.parent().await;
        let used = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": fresh.refresh})).await;
        assert_eq!(used.status, StatusCode::OK);
        app.state.clock.advance(chrono::Duration::seconds(61));
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": fresh.refresh})).await
            .problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    }

    async fn concurrent_refreshes_of_one_token_leave_one_live_token(app) {
        let app = app.with_demo().await;
        for _ in 0..4 {
        let tokens = app.parent().await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let router = app.router.clone();
            let refresh = tokens.refresh.clone();
            tasks.push(tokio::spawn(async move {
                use tower::ServiceExt;
                let req = axum::http::Request::post("/api/v1/auth/refresh")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(json!({"refresh_token": refresh}).to_string()))
                    .unwrap();
                router.oneshot(req).await.unwrap().status()
            }));
        }
        for task in tasks {
            let status = task.await.unwrap();
            assert!(status == StatusCode::OK || status == StatusCode::UNAUTHORIZED, "{status}: never a 5xx (a deadlock is retried)");
        }
        }
        // Retries within the grace each replace the previous successor: whatever
        // the interleaving, the login ends with at most one token that works.
        let live: i64 = match &*app.state.db.pool {
            famille_server::store::Pool::Sqlite(pool, _) => sqlx::query_scalar("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM refresh_tokens WHERE used_at IS NULL AND revoked_at IS NULL GROUP BY chain_id) AS live").fetch_one(pool).await,
            famille_server::store::Pool::Postgres(pool) => sqlx::query_scalar("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM refresh_tokens WHERE used_at IS NULL AND revoked_at IS NULL GROUP BY chain_id) AS live").fetch_one(pool).await,
        }
        .unwrap();
        assert!(live <= 1, "{live} live tokens in one login");
    }

    async fn logout_ends_the_session(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let out = app.post("/api/v1/auth/logout", None, json!({"refresh_token": tokens.refresh})).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let refresh = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": tokens.refresh})).await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
        // Logging out twice, or with an unknown token, is harmless.
        let again = app.post("/api/v1/auth/logout", None, json!({"refresh_token": tokens.refresh})).await;
        assert_eq!(again.status, StatusCode::NO_CONTENT);
    }

    async fn access_tokens_expire(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        assert_eq!(app.get("/api/v1/family", &tokens.access).await.status, StatusCode::OK);
        app.state.clock.advance(chrono::Duration::minutes(16));
        app.get("/api/v1/family", &tokens.access).await.problem(StatusCode::UNAUTHORIZED, "token_expired");
        // The refresh token still works and gives a fresh access token.
        let renewed = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": tokens.refresh})).await;
        let access = renewed.body["access_token"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/family", access).await.status, StatusCode::OK);
        // A session-length refresh token dies after 12 hours.
        let session = app
            .post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "demo-parent-pw"}))
            .await;
        app.state.clock.advance(chrono::Duration::hours(13));
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": session.body["refresh_token"]})).await
            .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    }

    async fn forgot_password_mails_a_one_time_token(app) {
        let app = app.with_demo().await;
        let old_session = app.parent().await;
        // Unknown address: same answer, no mail.
        let unknown = app.post("/api/v1/auth/password/forgot", None, json!({"email": "personne@famille.example"})).await;
        assert_eq!(unknown.status, StatusCode::ACCEPTED);
        let known = app.post("/api/v1/auth/password/forgot", None, json!({"email": "parent@famille.example"})).await;
        assert_eq!(known.status, StatusCode::ACCEPTED);
        assert_eq!(known.body, unknown.body);
        let mail = app.wait_for_mail(1).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(app.outbox().len(), 1, "the unknown address got no mail");
        assert!(mail.contains("To: parent@famille.example"), "{mail}");
        assert!(mail.contains("changer le mot de passe"), "{mail}");
        let token = token_in_mail(&mail);

        let weak = app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "court"})).await;
        weak.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let reset = app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "nouveau-mot-de-passe"})).await;
        assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
        app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "encore-un-autre-mdp"})).await
            .problem(StatusCode::BAD_REQUEST, "reset_token_invalid");

        app.post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "demo-parent-pw"})).await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        app.login("parent@famille.example", "nouveau-mot-de-passe").await;
        // Sessions opened with the old password are closed.
        let old = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": old_session.refresh})).await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    }

    async fn strangers_asking_resets_neither_bomb_nor_block_the_parent(app) {
        let app = app.with_demo().await;
        for n in 0..14 {
            let r = app.post_from(&format!("203.0.113.{n}"), "/api/v1/auth/password/forgot", json!({"email": "parent@famille.example"})).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        }
        let own = app.post_from("192.0.2.10", "/api/v1/auth/password/forgot", json!({"email": "parent@famille.example"})).await;
        assert_eq!(own.status, StatusCode::ACCEPTED, "the parent's own request is not refused");
        let last = app.wait_for_mail(10).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(app.outbox().len(), 10, "at most ten reset mails an hour");
        let reset = app.post("/api/v1/auth/password/reset", None, json!({"token": token_in_mail(&last), "password": "nouveau-mot-de-passe"})).await;
        assert_eq!(reset.status, StatusCode::NO_CONTENT, "the last link mailed works: {}", reset.body);
    }

    async fn reset_tokens_expire_after_an_hour(app) {
        let app = app.with_demo().await;
        app.post("/api/v1/auth/password/forgot", None, json!({"email": "parent@famille.example"})).await;
        let token = token_in_mail(&app.wait_for_mail(1).await);
        app.state.clock.advance(chrono::Duration::minutes(61));
        app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "nouveau-mot-de-passe"})).await
            .problem(StatusCode::BAD_REQUEST, "reset_token_invalid");
    }

    async fn imported_dossier_first_login_goes_through_forgot(app) {
        let app = app.with_demo().await;
        app.post("/api/v1/auth/password/forgot", None, json!({"email": "import@famille.example"})).await;
        let mail = app.wait_for_mail(1).await;
        assert!(mail.contains("première connexion"), "{mail}");
        let token = token_in_mail(&mail);
        let reset = app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "mon-premier-mdp"})).await;
        assert_eq!(reset.status, StatusCode::NO_CONTENT);
        let tokens = app.login("import@famille.example", "mon-premier-mdp").await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(family.body["guardians"][0]["last_name"], "DUPONT");
    }

    async fn login_is_limited_per_account_not_per_network(app) {
        let app = app.with_demo().await;
        for _ in 0..10 {
            let r = app.post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "mauvais-mdp-123"})).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let limited = app.post("/api/v1/auth/login", None, json!({"email": "parent@famille.example", "password": "demo-parent-pw"})).await;
        limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry: u64 = limited.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "retry-after {retry}");
        // Another parent behind the same address is not locked out.
        app.agent().await;
        // Once the wait is over, the right password works.
        app.state.clock.advance(chrono::Duration::seconds(retry as i64));
        app.parent().await;
    }

    async fn a_parent_who_gets_it_right_is_never_limited(app) {
        let app = app.with_demo().await;
        for attempt in 0..40 {
            let r = app
                .post_from("192.0.2.10", "/api/v1/auth/login", json!({"email": "parent@famille.example", "password": "demo-parent-pw"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "login {attempt}: {}", r.body);
        }
    }

    async fn a_stranger_elsewhere_cannot_lock_a_parent_out(app) {
        let app = app.with_demo().await;
        let guess = json!({"email": "parent@famille.example", "password": "mauvais-mdp-123"});
        for _ in 0..10 {
            let r = app.post_from("198.51.100.7", "/api/v1/auth/login", guess.clone()).await;
            r.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        app.post_from("198.51.100.7", "/api/v1/auth/login", guess.clone())
            .await
            .problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        // The parent, from home, logs in at once.
        let home = app
            .post_from("192.0.2.10", "/api/v1/auth/login", json!({"email": "parent@famille.example", "password": "demo-parent-pw"}))
            .await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        // Guessed at from many addresses (50 failures in all): slowed down, never locked.
        for n in 0..40 {
            let r = app.post_from(&format!("203.0.113.{n}"), "/api/v1/auth/login", guess.clone()).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let started = std::time::Instant::now();
        let home = app
            .post_from("192.0.2.10", "/api/v1/auth/login", json!({"email": "parent@famille.example", "password": "demo-parent-pw"}))
            .await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        assert!(started.elapsed() >= famille_server::ratelimit::SLOWDOWN, "answers are slowed, not refused");
    }

    async fn one_address_cannot_lock_many_accounts(app) {
        let mut config = app.state.config.clone();
        config.rate_limit_per_address = 20;
        let app = app.restart_with(config).await.with_demo().await;
        let mut limited_after = None;
        for n in 0..40 {
            let r = app
                .post_from("198.51.100.9", "/api/v1/auth/login", json!({"email": format!("parent{n}@famille.example"), "password": "essai-123456"}))
                .await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                r.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                limited_after = Some(n);
                break;
            }
            r.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        assert_eq!(limited_after, Some(20), "the address is slowed after its burst of failures");
        // The accounts it tried are not locked for their owners elsewhere.
        for (email, password) in [("parent@famille.example", "demo-parent-pw"), ("agent@famille.example", "demo-agent-pw")] {
            let r = app.post_from("192.0.2.10", "/api/v1/auth/login", json!({"email": email, "password": password})).await;
            assert_eq!(r.status, StatusCode::OK, "{email}: {}", r.body);
        }
    }

    async fn me_tells_who_is_connected(app) {
        let app = app.with_demo().await;
        let tokens = app.agent().await;
        let me = app.get("/api/v1/account", &tokens.access).await;
        assert_eq!(me.body["role"], "agent");
        assert_eq!(me.body["email"], "agent@famille.example");
        assert!(me.body["family_id"].is_null());
        let none = app.call(Method::GET, "/api/v1/account", None, None).await;
        none.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let forged = app.call(Method::GET, "/api/v1/account", Some("eyJhbGciOiJub25lIn0.e30."), None).await;
        forged.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

backend_tests! {
    async fn devices_belong_to_one_account(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let token = "fcm-token:APA91b-Ez_test-0123456789";
        let register = json!({"platform": "android", "token": token, "locale": "fr-FR"});
        assert_eq!(app.post("/api/v1/devices", Some(&parent.access), register.clone()).await.status, StatusCode::CREATED);
        let parent_id: uuid::Uuid = app.get("/api/v1/account", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let agent_id: uuid::Uuid = app.get("/api/v1/account", &agent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(app.state.db.devices().of_account(parent_id).await.unwrap(), vec![(token.to_owned(), "android".to_owned())]);
        // Registered again from another account (the phone changed hands): it moves.
        assert_eq!(app.post("/api/v1/devices", Some(&agent.access), register.clone()).await.status, StatusCode::CREATED);
        assert!(app.state.db.devices().of_account(parent_id).await.unwrap().is_empty());
        assert_eq!(app.state.db.devices().of_account(agent_id).await.unwrap().len(), 1);
        // Only its owner removes it.
        let removal = json!({"token": token});
        app.call(Method::DELETE, "/api/v1/devices", Some(&parent.access), Some(removal.clone())).await.problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(app.call(Method::DELETE, "/api/v1/devices", Some(&agent.access), Some(removal)).await.status, StatusCode::NO_CONTENT);
        // Bad input.
        app.post("/api/v1/devices", Some(&parent.access), json!({"platform": "windows", "token": token})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        app.post("/api/v1/devices", Some(&parent.access), json!({"platform": "ios", "token": "a b"})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        // Logging out with the device token unregisters it.
        app.post("/api/v1/devices", Some(&parent.access), json!({"platform": "ios", "token": token})).await;
        let out = app.post("/api/v1/auth/logout", None, json!({"refresh_token": parent.refresh, "device_token": token})).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert!(app.state.db.devices().of_account(parent_id).await.unwrap().is_empty());
    }
}
