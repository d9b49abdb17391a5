//! Documents sent with tus 1.0: resumable, checked from their bytes, stored, then
//! validated by the services; bad files refused each with its own code, leaving
//! nothing behind.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha1::Digest;

use crate::support::{Reply, TestApp, backend_tests, meta, tus};

/// A camera photo with EXIF (maker, GPS tags), made by `famille-fixtures`.
fn photo() -> Vec<u8> {
    famille_fixtures::photo("gps_nikon_DSCN0010.jpg").expect("a generated photo")
}

async fn create(app: &TestApp, token: &str, length: usize, metadata: String) -> Reply {
    tus(
        app,
        Method::POST,
        "/api/v1/uploads",
        token,
        &[
            ("upload-length", length.to_string()),
            ("upload-metadata", metadata),
        ],
        vec![],
    )
    .await
}

async fn patch(app: &TestApp, token: &str, location: &str, offset: usize, bytes: &[u8]) -> Reply {
    tus(
        app,
        Method::PATCH,
        location,
        token,
        &[
            ("upload-offset", offset.to_string()),
            ("content-type", "application/offset+octet-stream".into()),
        ],
        bytes.to_vec(),
    )
    .await
}

/// A request body that delivers `bytes`, then breaks: the phone lost its network.
struct CutShort(Option<bytes::Bytes>);

impl http_body::Body for CutShort {
    type Data = bytes::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(match self.0.take() {
            Some(bytes) => Ok(http_body::Frame::data(bytes)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "réseau perdu",
            )),
        }))
    }
}

async fn patch_cut_short(
    app: &TestApp,
    token: &str,
    at: &str,
    bytes: &[u8],
    checksum: Option<String>,
) -> Reply {
    let mut req = Request::builder()
        .method(Method::PATCH)
        .uri(at)
        .header("authorization", format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream");
    if let Some(c) = checksum {
        req = req.header("upload-checksum", c);
    }
    app.send(
        req.body(Body::new(CutShort(Some(bytes::Bytes::copy_from_slice(
            bytes,
        )))))
        .unwrap(),
    )
    .await
}

fn location(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.headers["location"].to_str().unwrap().to_owned()
}

/// Everything stored in the documents folder.
fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&app.state.config.data_dir.join("documents")) + count(&app.state.config.uploads_dir())
}

async fn luc(app: &TestApp, token: &str) -> String {
    let family = app.get("/api/v1/family", token).await.body;
    family["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_name"] == "Luc")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn a_photo_sent_in_pieces_becomes_a_document_the_services_validate(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent.access).await;
        let options = app.send(Request::builder().method(Method::OPTIONS).uri("/api/v1/uploads").body(Body::empty()).unwrap()).await;
        assert_eq!(options.status, StatusCode::NO_CONTENT);
        assert_eq!(options.headers["tus-version"], "1.0.0");
        assert_eq!(options.headers["tus-extension"], "creation,checksum,termination");

        let photo = photo();
        let created = create(&app, &parent.access, photo.len(),
            meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc), ("filename", "carnet.jpg")])).await;
        let at = location(&created);
        let half = photo.len() / 2;
        let first = patch(&app, &parent.access, &at, 0, &photo[..half]).await;
        assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.body);
        assert_eq!(first.headers["upload-offset"], half.to_string().as_str());

        // The network cut: the app asks where it was, and resumes from there.
        let head = tus(&app, Method::HEAD, &at, &parent.access, &[], vec![]).await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers["upload-offset"], half.to_string().as_str());
        assert_eq!(head.headers["upload-length"], photo.len().to_string().as_str());
        let stale = patch(&app, &parent.access, &at, 0, &photo[..half]).await;
        assert_eq!((stale.status, stale.body["code"].as_str()), (StatusCode::CONFLICT, Some("upload_offset_mismatch")));
        let damaged = tus(&app, Method::PATCH, &at, &parent.access, &[
            ("upload-offset", half.to_string()), ("content-type", "application/offset+octet-stream".into()),
            ("upload-checksum", format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(b"autre chose"))))], photo[half..].to_vec()).await;
        assert_eq!(damaged.status.as_u16(), 460, "{}", damaged.body);
        assert_eq!(damaged.body["code"], "checksum_mismatch");
        let last = tus(&app, Method::PATCH, &at, &parent.access, &[
            ("upload-offset", half.to_string()), ("content-type", "application/offset+octet-stream".into()),
            ("upload-checksum", format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(&photo[half..]))))], photo[half..].to_vec()).await;
        assert_eq!(last.status, StatusCode::NO_CONTENT, "{}", last.body);
        let document = last.headers["famille-document-id"].to_str().unwrap().to_owned();

        // "Déposé": the family sees it pending; the agents' queue has it.
        let mine = app.get("/api/v1/documents", &parent.access).await.body;
        let sent = mine.as_array().unwrap().iter().find(|d| d["id"] == document.as_str()).expect("listed");
        assert_eq!(sent["status"], "pending");
        let queue = app.get("/api/v1/staff/documents?status=pending", &agent.access).await.body;
        assert!(queue.as_array().unwrap().iter().any(|d| d["id"] == document.as_str()));

        // The agent opens it (audited) and validates it: the alert goes, Luc may book.
        let opened = app.send(Request::builder().uri(format!("/api/v1/staff/documents/{document}/file"))
            .header("authorization", format!("Bearer {}", agent.access)).body(Body::empty()).unwrap()).await;
        assert_eq!(opened.status, StatusCode::OK);
        assert_eq!(opened.headers["content-type"], "image/jpeg");
        let audit = app.get("/api/v1/family/audit", &parent.access).await.body;
        assert!(audit.to_string().contains("document.read"), "the family sees who opened it: {audit}");
        let validated = app.post(&format!("/api/v1/staff/documents/{document}/validate"), Some(&agent.access), json!({})).await;
        assert_eq!(validated.status, StatusCode::OK, "{}", validated.body);
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(!alerts.as_array().unwrap().iter().any(|a| a["child_id"] == luc.as_str()), "{alerts}");
        assert_eq!(app.get("/api/v1/documents", &parent.access).await.body[0]["status"], "validated");

        // Finished: nothing more can be appended; the upload still says where it ended.
        let more = patch(&app, &parent.access, &at, photo.len(), b"x").await;
        assert_eq!(more.status, StatusCode::CONFLICT);
    }

    async fn bad_files_are_refused_each_with_its_code_and_nothing_is_kept(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let luc = luc(&app, &parent.access).await;
        let before = app.get("/api/v1/documents", &parent.access).await.body.as_array().unwrap().len();
        let files_before = stored_files(&app);
        let send_whole = |name: &'static str, bytes: Vec<u8>| {
            let (app, token, luc) = (&app, parent.access.clone(), luc.clone());
            async move {
                let at = location(&create(app, &token, bytes.len(),
                    meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc), ("filename", name)])).await);
                let reply = patch(app, &token, &at, 0, &bytes).await;
                // The upload is gone with its bytes.
                let head = tus(app, Method::HEAD, &at, &token, &[], vec![]).await;
                assert_eq!(head.status, StatusCode::NOT_FOUND);
                reply
            }
        };
        let problem = |reply: &Reply| (reply.status, reply.body["code"].as_str().unwrap_or_default().to_owned());

        // A renamed executable.
        let fake = send_whole("carnet.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".repeat(20)).await;
        assert_eq!(problem(&fake), (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_file_type".into()));
        assert!(fake.body["detail"].as_str().unwrap().contains("refusé"), "{}", fake.body);
        // A PDF named as a photo.
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec();
        let mismatch = send_whole("photo.jpg", pdf).await;
        assert_eq!(problem(&mismatch), (StatusCode::UNPROCESSABLE_ENTITY, "file_type_mismatch".into()));
        // A tiny file declaring 60,000 x 60,000 pixels.
        let mut bomb = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        bomb.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        bomb.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bomb.extend_from_slice(&[0u8; 300]);
        let bomb = send_whole("bombe.jpg", bomb).await;
        assert_eq!(problem(&bomb), (StatusCode::UNPROCESSABLE_ENTITY, "image_too_large".into()));

        // Over the limit: refused at creation.
        let big = create(&app, &parent.access, 50 * 1024 * 1024, meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc)])).await;
        assert_eq!(problem(&big), (StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large".into()));
        // More bytes than announced.
        let at = location(&create(&app, &parent.access, 10, meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc)])).await);
        let over = patch(&app, &parent.access, &at, 0, &[0u8; 11]).await;
        assert_eq!(problem(&over), (StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large".into()));
        tus(&app, Method::DELETE, &at, &parent.access, &[], vec![]).await;
        // Another family's child.
        let stranger = app.new_parent("voisin@example.fr").await;
        let foreign = create(&app, &stranger.access, 1000, meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc)])).await;
        assert_eq!(problem(&foreign), (StatusCode::NOT_FOUND, "not_found".into()));
        // An unknown type, a child's document without the child, no tus version.
        let unknown = create(&app, &parent.access, 1000, meta(&[("document_type", "passeport")])).await;
        assert_eq!(problem(&unknown), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_document_type".into()));
        let no_child = create(&app, &parent.access, 1000, meta(&[("document_type", "carnet_vaccination")])).await;
        assert_eq!(problem(&no_child), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field".into()));
        let old = app.send(Request::builder().method(Method::POST).uri("/api/v1/uploads")
            .header("authorization", format!("Bearer {}", parent.access)).header("upload-length", "10").body(Body::empty()).unwrap()).await;
        assert_eq!(problem(&old), (StatusCode::PRECONDITION_FAILED, "tus_version_unsupported".into()));
        // Another family cannot even see the upload.
        let at = location(&create(&app, &parent.access, 1000, meta(&[("document_type", "justificatif_domicile")])).await);
        assert_eq!(tus(&app, Method::HEAD, &at, &stranger.access, &[], vec![]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(patch(&app, &stranger.access, &at, 0, b"x").await.status, StatusCode::NOT_FOUND);
        assert_eq!(tus(&app, Method::DELETE, &at, &parent.access, &[], vec![]).await.status, StatusCode::NO_CONTENT);

        // A name that lies: a photo called an executable.
        let exe = send_whole("photo.exe", photo()).await;
        assert_eq!(problem(&exe), (StatusCode::UNPROCESSABLE_ENTITY, "file_type_mismatch".into()));
        // tus headers read by one rule: given twice, not digits, a child id that is none.
        let twice = app.send(Request::builder().method(Method::POST).uri("/api/v1/uploads")
            .header("authorization", format!("Bearer {}", parent.access)).header("tus-resumable", "1.0.0")
            .header("upload-length", "10").header("upload-length", "20")
            .header("upload-metadata", meta(&[("document_type", "justificatif_domicile")])).body(Body::empty()).unwrap()).await;
        assert_eq!(problem(&twice), (StatusCode::BAD_REQUEST, "invalid_body".into()));
        assert!(twice.body["detail"].as_str().unwrap().contains("Upload-Length"), "{}", twice.body);
        for length in ["-1", "+5", "1.5", "abc"] {
            let bad = tus(&app, Method::POST, "/api/v1/uploads", &parent.access, &[("upload-length", length.into()),
                ("upload-metadata", meta(&[("document_type", "justificatif_domicile")]))], vec![]).await;
            assert_eq!(problem(&bad), (StatusCode::BAD_REQUEST, "invalid_body".into()), "{length}");
            assert!(bad.body["detail"].as_str().unwrap().contains("chiffres"), "{length}: {}", bad.body);
        }
        let not_an_id = create(&app, &parent.access, 1000, meta(&[("document_type", "carnet_vaccination"), ("child_id", "luc")])).await;
        assert_eq!(problem(&not_an_id), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field".into()));
        assert_eq!(not_an_id.body["errors"][0]["field"], "child_id");

        // Broken files of every kind: only their headers, cut short, scrambled.
        for (name, bytes, whole) in famille_fixtures::documents() {
            if !whole {
                let broken = send_whole(name, bytes).await;
                assert_eq!(problem(&broken), (StatusCode::UNPROCESSABLE_ENTITY, "damaged_file".into()), "{name}");
            }
        }

        let after: Value = app.get("/api/v1/documents", &parent.access).await.body;
        assert_eq!(after.as_array().unwrap().len(), before, "no document was created");
        assert_eq!(stored_files(&app), files_before, "no file was kept");
    }

    async fn a_piece_cut_short_keeps_what_arrived_unless_its_checksum_says_otherwise(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let luc = luc(&app, &parent.access).await;
        let photo = photo();
        let at = location(&create(&app, &parent.access, photo.len(),
            meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc), ("filename", "carnet.jpg")])).await);
        // With a checksum over the whole piece, a part of it cannot be judged: none kept.
        let whole = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(&photo[..2000])));
        let judged = patch_cut_short(&app, &parent.access, &at, &photo[..1000], Some(whole)).await;
        assert_eq!(judged.status.as_u16(), 460, "{}", judged.body);
        let head = tus(&app, Method::HEAD, &at, &parent.access, &[], vec![]).await;
        assert_eq!(head.headers["upload-offset"], "0");
        // Without one, the bytes that arrived are kept, and the phone goes on from there.
        let kept = patch_cut_short(&app, &parent.access, &at, &photo[..1000], None).await;
        assert_eq!(kept.headers["upload-offset"], "1000", "{}", kept.body);
        let head = tus(&app, Method::HEAD, &at, &parent.access, &[], vec![]).await;
        assert_eq!(head.headers["upload-offset"], "1000");
        let rest = patch(&app, &parent.access, &at, 1000, &photo[1000..]).await;
        assert_eq!(rest.status, StatusCode::NO_CONTENT, "{}", rest.body);
        assert!(rest.headers.contains_key("famille-document-id"));
    }

    async fn whole_files_are_served_back_as_the_server_decided(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent.access).await;
        for (name, bytes, whole) in famille_fixtures::documents() {
            if !whole {
                continue;
            }
            let at = location(&create(&app, &parent.access, bytes.len(),
                meta(&[("document_type", "carnet_vaccination"), ("child_id", &luc), ("filename", name)])).await);
            let done = patch(&app, &parent.access, &at, 0, &bytes).await;
            assert_eq!(done.status, StatusCode::NO_CONTENT, "{name}: {}", done.body);
            let document = done.headers["famille-document-id"].to_str().unwrap().to_owned();
            let served = app.send(Request::builder().uri(format!("/api/v1/staff/documents/{document}/file"))
                .header("authorization", format!("Bearer {}", agent.access)).body(Body::empty()).unwrap()).await;
            assert_eq!(served.status, StatusCode::OK, "{name}");
            let expected = match name.rsplit_once('.').unwrap().1 {
                "jpg" => "image/jpeg",
                "png" => "image/png",
                _ => "application/pdf",
            };
            assert_eq!(served.headers["content-type"], expected, "{name}");
            assert_eq!(served.headers["x-content-type-options"], "nosniff", "{name}");
            assert_eq!(served.headers["content-disposition"], "inline", "{name}");
        }
    }
}
