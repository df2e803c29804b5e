//! Self-test of the fake Slack in `tests/common`: drives it with a raw websocket client and reqwest,
//! without the bot, so a failing bot test can be told apart from a broken fake.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn api(slack: &FakeSlack, method: &str, token: Option<&str>, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().post(format!("{}{method}", slack.api_url())).form(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// connections.open with the app token, then a websocket to the returned URL. Returns the socket,
/// the connection id from the URL and the hello.
async fn connect(slack: &FakeSlack) -> (Ws, u64, Value) {
    let (status, _, body) = api(slack, "apps.connections.open", Some(APP_TOKEN), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true, "{body}");
    let url = body["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    let id: u64 = url.rsplit("id=").next().and_then(|s| s.parse().ok()).expect("id in url");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("ws connect");
    let hello = next_json(&mut ws, secs(5)).await.expect("hello");
    (ws, id, hello)
}

/// The next text frame as JSON (pings/pongs skipped); None on timeout or close.
async fn next_json(ws: &mut Ws, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match msg {
            Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Waits for a Pong (other frames are ignored); false on timeout.
async fn got_pong(ws: &mut Ws, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Pong(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
            _ => return false,
        }
    }
}

#[tokio::test]
async fn hello_event_and_ack_round_trip() {
    let slack = FakeSlack::start().await;
    assert_eq!(slack.api_url(), format!("{}/api/", slack.origin()));
    slack.set_connection_time(42);
    let (mut ws, conn, hello) = connect(&slack).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 42);
    assert_eq!(hello["debug_info"]["host"], "fake");
    assert_eq!(hello["connection_info"]["app_id"], APP_ID);
    assert_eq!(slack.connections_opened(), 1);
    assert!(slack.wait_for_sockets(1, secs(2)).await);
    assert_eq!(slack.open_socket_ids(), vec![conn]);

    let (env_id, event_id) = slack.push_event(json!({"type": "app_mention", "user": "U9", "text": "hi", "channel": "C1"})).await;
    let env = next_json(&mut ws, secs(5)).await.expect("envelope");
    assert_eq!(env["envelope_id"], env_id.as_str());
    assert_eq!(env["type"], "events_api");
    assert_eq!(env["accepts_response_payload"], false);
    assert_eq!(env["retry_attempt"], 0);
    assert_eq!(env["retry_reason"], "");
    assert_eq!(env["payload"]["type"], "event_callback");
    assert_eq!(env["payload"]["event_id"], event_id.as_str());
    assert!(event_id.starts_with("Ev"));
    assert_eq!(env["payload"]["team_id"], TEAM);
    assert_eq!(env["payload"]["api_app_id"], APP_ID);
    assert_eq!(env["payload"]["authorizations"][0]["user_id"], BOT_USER);
    assert!(env["payload"]["event_time"].is_u64());
    assert_eq!(env["payload"]["event"]["text"], "hi");

    assert!(slack.ack_for(&env_id).is_none());
    ws.send(Message::Text(json!({"envelope_id": env_id}).to_string().into())).await.expect("ack");
    let ack = slack.wait_for_ack(&env_id, secs(5)).await.expect("ack recorded");
    assert_eq!(ack.conn, conn);
    assert!(ack.payload.is_none());

    // Redelivery: same payload, new envelope, retry fields set.
    let retry_env = slack.redeliver(&event_id, 1).await.expect("known event");
    assert_ne!(retry_env, env_id);
    let env2 = next_json(&mut ws, secs(5)).await.expect("redelivery");
    assert_eq!(env2["envelope_id"], retry_env.as_str());
    assert_eq!(env2["retry_attempt"], 1);
    assert_eq!(env2["retry_reason"], "timeout");
    assert_eq!(env2["payload"]["event_id"], event_id.as_str());

    // Slash command: payload like Slack's, response URL served by the fake and attributed to the user.
    slack.add_member("U1", "Ada");
    let cmd_env = slack.slash_command("U1", "list").await;
    let cmd = next_json(&mut ws, secs(5)).await.expect("slash command");
    assert_eq!(cmd["envelope_id"], cmd_env.as_str());
    assert_eq!(cmd["type"], "slash_commands");
    assert_eq!(cmd["accepts_response_payload"], true);
    assert_eq!(cmd["payload"]["command"], COMMAND);
    assert_eq!(cmd["payload"]["user_id"], "U1");
    assert_eq!(cmd["payload"]["channel_id"], "C1");
    assert_eq!(cmd["payload"]["text"], "list");
    let response_url = cmd["payload"]["response_url"].as_str().expect("response_url").to_string();
    assert!(response_url.starts_with(&slack.origin()));
    ws.send(Message::Text(json!({"envelope_id": cmd_env, "payload": {"text": "ok"}}).to_string().into())).await.expect("ack");
    let ack = slack.wait_for_ack(&cmd_env, secs(5)).await.expect("ack with payload");
    assert_eq!(ack.payload, Some(json!({"text": "ok"})));
    let r = reqwest::Client::new()
        .post(&response_url)
        .json(&json!({"text": "You have no presets", "response_type": "ephemeral"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(slack.responses().len(), 1);
    assert_eq!(slack.bot_texts("U1"), vec!["You have no presets".to_string()]);

    // Disconnect message, then the client closes: logged as a client close.
    assert!(slack.send_disconnect("refresh_requested").await);
    let d = next_json(&mut ws, secs(5)).await.expect("disconnect");
    assert_eq!(d, json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}));
    ws.close(None).await.expect("close");
    assert!(slack.wait_until(secs(5), |s| s.open_sockets() == 0).await);
    let closed = slack.closed_log();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].conn, conn);
    assert_eq!(closed[0].by, ClosedBy::Client);
}

#[tokio::test]
async fn events_wait_for_the_next_connection_and_drop_is_abrupt() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let (_, event_id) = slack.set_status("U1", "palm_tree").await;
    assert_eq!(slack.member_profile("U1")["status_emoji"], ":palm_tree:");
    let (mut ws, conn, _hello) = connect(&slack).await;
    let env = next_json(&mut ws, secs(5)).await.expect("queued event");
    assert_eq!(env["payload"]["event_id"], event_id.as_str());
    assert_eq!(env["payload"]["event"]["type"], "user_change");
    assert_eq!(env["payload"]["event"]["user"]["id"], "U1");
    assert_eq!(env["payload"]["event"]["user"]["profile"]["status_emoji"], ":palm_tree:");
    assert!(env["payload"]["event"]["event_ts"].is_string());
    assert!(env["payload"]["event"]["cache_ts"].is_u64());

    slack.drop_sockets().await;
    assert_eq!(slack.open_sockets(), 0);
    // The client sees the stream end without a close frame.
    let end = tokio::time::timeout(secs(5), ws.next()).await.expect("stream ends");
    assert!(!matches!(end, Some(Ok(Message::Close(_)))), "{end:?}");
    let closed = slack.closed_log();
    assert_eq!((closed[0].conn, closed[0].by), (conn, ClosedBy::Server));

    // A second connection gets a fresh id and num_connections 1 again.
    let (_ws2, conn2, hello2) = connect(&slack).await;
    assert_ne!(conn2, conn);
    assert_eq!(hello2["num_connections"], 1);
    assert_eq!(slack.connections_opened(), 2);

    // A websocket without a ticket still connects.
    let (mut ws3, _) = tokio_tungstenite::connect_async(slack.ws_url()).await.expect("connect");
    assert_eq!(next_json(&mut ws3, secs(5)).await.expect("hello")["num_connections"], 2);
}

/// Regression (CI at stop 9): a bot started right after its predecessor was killed counted the
/// predecessor's socket, not yet seen closed, as its own, and the next slash command went to it.
#[tokio::test]
async fn a_socket_opened_before_a_start_does_not_count_as_connected() {
    let slack = FakeSlack::start().await;
    let (_old, _, _) = connect(&slack).await;
    let started = std::time::Instant::now();
    assert!(slack.wait_for_sockets(1, secs(1)).await, "the old socket is still open");
    assert!(!slack.wait_for_socket_since(started, Duration::from_millis(300)).await, "but it is not the new process's");
    let (_new, _, _) = connect(&slack).await;
    assert!(slack.wait_for_socket_since(started, secs(2)).await);
}

#[tokio::test]
async fn faults_429_errors_status_and_delay() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    slack.fail_next("users.info", Fault::Http429 { retry_after: 7 });
    slack.fail_next("users.info", Fault::SlackError("internal_error".into()));
    slack.fail_next("users.info", Fault::Status(503));
    slack.fail_next("users.info", Fault::Delay(millis(300)));
    assert_eq!(slack.pending_faults("users.info"), 4);

    let (status, headers, body) = api(&slack, "users.info", Some(BOT_TOKEN), &[("user", "U1")]).await;
    assert_eq!(status, 429);
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));

    let (status, _, body) = api(&slack, "users.info", Some(BOT_TOKEN), &[("user", "U1")]).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ok": false, "error": "internal_error"}));

    let (status, _, body) = api(&slack, "users.info", Some(BOT_TOKEN), &[("user", "U1")]).await;
    assert_eq!(status, 503);
    assert!(body.is_string());

    let t = std::time::Instant::now();
    let (status, _, body) = api(&slack, "users.info", Some(BOT_TOKEN), &[("user", "U1")]).await;
    assert!(t.elapsed() >= millis(300));
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["user"]["id"], "U1");
    assert_eq!(body["user"]["profile"]["display_name"], "Ada");

    // Every call was recorded, faulted or not.
    let calls = slack.wait_for_calls("users.info", 4, secs(1)).await;
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].token.as_deref(), Some(BOT_TOKEN));
    assert_eq!(calls[0].param("user").as_deref(), Some("U1"));
    assert!(calls[0].content_type.as_deref().unwrap_or("").starts_with("application/x-www-form-urlencoded"));

    // Persistent connections.open failure.
    slack.set_connections_open_error(Some("ratelimited".into()));
    let (_, _, body) = api(&slack, "apps.connections.open", Some(APP_TOKEN), &[]).await;
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));
    let (_, _, body) = api(&slack, "apps.connections.open", Some(APP_TOKEN), &[]).await;
    assert_eq!(body["error"], "ratelimited");
    slack.set_connections_open_error(None);
    let (_, _, body) = api(&slack, "apps.connections.open", Some(APP_TOKEN), &[]).await;
    assert_eq!(body["ok"], true);

    // The websocket upgrade can fail too.
    slack.fail_next("ws.connect", Fault::Status(503));
    assert!(tokio_tungstenite::connect_async(slack.ws_url()).await.is_err());
    assert!(tokio_tungstenite::connect_async(slack.ws_url()).await.is_ok());
}

#[tokio::test]
async fn tokens_and_auth_test() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    assert_eq!(token, "xoxp-U1-token");

    let (_, headers, body) = api(&slack, "auth.test", Some(BOT_TOKEN), &[]).await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["user_id"], BOT_USER);
    assert_eq!(body["bot_id"], "B1");
    assert_eq!(body["team_id"], TEAM);
    assert_eq!(headers.get("x-oauth-scopes").and_then(|v| v.to_str().ok()), Some(BOT_SCOPES));

    let (_, headers, body) = api(&slack, "auth.test", Some(&token), &[]).await;
    assert_eq!(body["user_id"], "U1");
    assert!(body.get("bot_id").is_none());
    assert_eq!(headers.get("x-oauth-scopes").and_then(|v| v.to_str().ok()), Some("users.profile:read,users.profile:write"));

    assert_eq!(api(&slack, "auth.test", Some("xoxb-nope"), &[]).await.2, json!({"ok": false, "error": "invalid_auth"}));
    assert_eq!(api(&slack, "auth.test", None, &[]).await.2["error"], "not_authed");
    assert_eq!(api(&slack, "apps.connections.open", Some(BOT_TOKEN), &[]).await.2["error"], "not_allowed_token_type");
    assert_eq!(api(&slack, "users.profile.set", Some(BOT_TOKEN), &[("profile", "{}")]).await.2["error"], "not_allowed_token_type");
    assert_eq!(api(&slack, "chat.postMessage", Some(&token), &[("channel", "U1"), ("text", "x")]).await.2["error"], "missing_scope");
    assert_eq!(api(&slack, "no.such.method", Some(BOT_TOKEN), &[]).await.2, json!({"ok": false, "error": "unknown_method"}));

    // users.profile.get with the user token, and for another member with the bot token.
    let (_, _, body) = api(&slack, "users.profile.get", Some(&token), &[]).await;
    assert_eq!(body["profile"]["display_name"], "Ada");
    assert_eq!(body["profile"]["is_custom_image"], true);
    assert!(body["profile"]["image_original"].as_str().unwrap().starts_with(&slack.origin()));
    let (_, _, body) = api(&slack, "users.profile.get", Some(BOT_TOKEN), &[("user", "U1")]).await;
    assert_eq!(body["profile"]["display_name"], "Ada");
    assert_eq!(api(&slack, "users.info", Some(BOT_TOKEN), &[("user", "U404")]).await.2["error"], "user_not_found");

    // OAuth: a registered code is exchanged once for the member's token.
    slack.set_oauth_code("code-1", "U1");
    let (_, _, body) = api(&slack, "oauth.v2.access", None, &[("code", "code-1"), ("client_id", "1.2"), ("client_secret", "s")]).await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["authed_user"]["id"], "U1");
    assert_eq!(body["authed_user"]["access_token"], token.as_str());
    assert_eq!(body["authed_user"]["token_type"], "user");
    assert_eq!(api(&slack, "oauth.v2.access", None, &[("code", "code-1")]).await.2["error"], "invalid_code");

    // auth.revoke makes the token unusable.
    assert_eq!(api(&slack, "auth.revoke", Some(&token), &[]).await.2, json!({"ok": true, "revoked": true}));
    assert_eq!(api(&slack, "auth.test", Some(&token), &[]).await.2["error"], "token_revoked");
}

#[tokio::test]
async fn silent_mode_suppresses_pongs_and_frames() {
    let slack = FakeSlack::start().await;
    let (mut ws, conn, _) = connect(&slack).await;
    ws.send(Message::Ping(vec![1, 2, 3].into())).await.expect("ping");
    assert!(got_pong(&mut ws, secs(2)).await, "pong while not silent");
    assert!(slack.wait_until(secs(2), |s| s.pings_received() == 1).await);

    slack.set_silent(true);
    ws.send(Message::Ping(vec![4].into())).await.expect("ping");
    slack.push_event(json!({"type": "app_mention", "text": "lost"})).await;
    assert!(!got_pong(&mut ws, millis(800)).await, "no pong while silent");
    assert!(next_json(&mut ws, millis(300)).await.is_none(), "no frames while silent");
    // It still reads: acks are recorded.
    ws.send(Message::Text(json!({"envelope_id": "x-1"}).to_string().into())).await.expect("send");
    assert!(slack.wait_for_ack("x-1", secs(2)).await.is_some());

    // A new connection is not silenced.
    let (mut ws2, conn2, hello) = connect(&slack).await;
    assert_eq!(hello["num_connections"], 2);
    ws2.send(Message::Ping(vec![5].into())).await.expect("ping");
    assert!(got_pong(&mut ws2, secs(2)).await);
    let (env_id, _) = slack.push_event(json!({"type": "app_mention", "text": "to newest"})).await;
    assert_eq!(next_json(&mut ws2, secs(5)).await.expect("event")["envelope_id"], env_id.as_str());

    // The client giving up on the silent one is logged as a client close.
    drop(ws);
    assert!(slack.wait_until(secs(5), |s| s.open_socket_ids() == vec![conn2]).await);
    let closed = slack.closed_log();
    assert_eq!((closed[0].conn, closed[0].by), (conn, ClosedBy::Client));
}

#[tokio::test]
async fn set_photo_and_profile_set_change_the_member_and_push_user_change() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let before = slack.avatar_bytes("U1");
    assert_eq!(image_dims(&before), Some((600, 600)));
    assert!(looks_like_seed(&before, "U1"));
    let old_hash = slack.avatar_hash("U1");
    let (mut ws, _, _) = connect(&slack).await;

    // The original avatar is served without a token; sized variants are shrunk.
    let profile = slack.member_profile("U1");
    let orig = reqwest::get(profile["image_original"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(orig.to_vec(), before);
    let small = reqwest::get(profile["image_192"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(image_dims(&small), Some((192, 192)));

    let new_photo = test_png(512, 512, "holiday");
    let form = reqwest::multipart::Form::new()
        .part("image", reqwest::multipart::Part::bytes(new_photo.clone()).file_name("photo.png").mime_str("image/png").unwrap());
    let resp =
        reqwest::Client::new().post(format!("{}users.setPhoto", slack.api_url())).bearer_auth(&token).multipart(form).send().await.unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    let new_hash = slack.avatar_hash("U1");
    assert_ne!(new_hash, old_hash);
    assert_eq!(body["profile"]["avatar_hash"], new_hash.as_str());
    assert_eq!(slack.avatar_bytes("U1"), new_photo);
    assert!(slack.member_profile("U1")["image_512"].as_str().unwrap().contains(&new_hash));

    let call = &slack.calls_to("users.setPhoto")[0];
    assert_eq!(call.file("image"), Some(new_photo.as_slice()));
    assert_eq!(call.files[0].1, "photo.png");
    assert!(call.content_type.as_deref().unwrap().starts_with("multipart/form-data"));

    let env = next_json(&mut ws, secs(5)).await.expect("user_change");
    let ev = &env["payload"]["event"];
    assert_eq!(ev["type"], "user_change");
    assert_eq!(ev["user"]["id"], "U1");
    assert_eq!(ev["user"]["profile"]["avatar_hash"], new_hash.as_str());

    // Not an image: bad_image, nothing changes.
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(b"nope".to_vec()).file_name("x.png"));
    let resp =
        reqwest::Client::new().post(format!("{}users.setPhoto", slack.api_url())).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "bad_image");
    assert_eq!(slack.avatar_hash("U1"), new_hash);

    // users.profile.set with a JSON `profile` form field.
    let (_, _, body) =
        api(&slack, "users.profile.set", Some(&token), &[("profile", r#"{"display_name":"Ada 🌴","status_text":"away"}"#)]).await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["profile"]["display_name"], "Ada 🌴");
    assert_eq!(slack.member_profile("U1")["display_name_normalized"], "Ada 🌴");
    let env = next_json(&mut ws, secs(5)).await.expect("user_change");
    assert_eq!(env["payload"]["event"]["user"]["profile"]["display_name"], "Ada 🌴");
    assert_eq!(env["payload"]["event"]["user"]["profile"]["status_text"], "away");
    // name/value form; an unchanged value pushes nothing.
    let (_, _, body) = api(&slack, "users.profile.set", Some(&token), &[("name", "display_name"), ("value", "Ada 🌴")]).await;
    assert_eq!(body["ok"], true);
    assert!(next_json(&mut ws, millis(300)).await.is_none());
    assert_eq!(slack.calls_to("users.profile.set")[0].json_param("profile").unwrap()["status_text"], "away");

    // Rate-limit accounting.
    assert!(slack.rate_limit_violations().is_empty());
    slack.set_enforce_rate_limits(true);
    let mut limited = false;
    for i in 0..12 {
        let (status, headers, _) =
            api(&slack, "users.profile.set", Some(&token), &[("name", "display_name"), ("value", &format!("n{i}"))]).await;
        if status == 429 {
            assert!(headers.get("retry-after").is_some());
            limited = true;
        }
    }
    assert!(limited);
    assert!(!slack.rate_limit_violations().is_empty());
}

#[tokio::test]
async fn files_require_the_bot_token() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let png = test_png(300, 200, "file");
    let fid = slack.add_file(png.clone(), "my photo.png", "image/png");

    let (_, _, body) = api(&slack, "files.info", Some(BOT_TOKEN), &[("file", &fid)]).await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["file"]["id"], fid.as_str());
    assert_eq!(body["file"]["mimetype"], "image/png");
    assert_eq!(body["file"]["size"], png.len());
    assert_eq!(body["file"]["original_w"], 300);
    let url = body["file"]["url_private"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/files/{fid}/", slack.origin())), "{url}");
    let download = body["file"]["url_private_download"].as_str().unwrap().to_string();
    assert_eq!(api(&slack, "files.info", Some(BOT_TOKEN), &[("file", "F404")]).await.2["error"], "file_not_found");
    assert_eq!(api(&slack, "files.info", Some(&token), &[("file", &fid)]).await.2["error"], "missing_scope");

    let client = reqwest::Client::new();
    for (u, auth) in [(&url, None), (&url, Some(token.as_str())), (&download, Some("xoxb-wrong"))] {
        let mut req = client.get(u.as_str());
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(resp.text().await.unwrap().contains("Sign in"));
    }
    for u in [&url, &download] {
        let resp = client.get(u.as_str()).bearer_auth(BOT_TOKEN).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), png);
    }
    let fetches = slack.fetches();
    assert_eq!(fetches.len(), 5);
    assert_eq!(fetches[3].token.as_deref(), Some(BOT_TOKEN));

    // A DM carrying the file.
    let (mut ws, _, _) = connect(&slack).await;
    let (env_id, _) = slack.dm("U1", ":palm_tree:", vec![fid.clone()]).await;
    let env = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(env["envelope_id"], env_id.as_str());
    let ev = &env["payload"]["event"];
    assert_eq!(ev["subtype"], "file_share");
    assert_eq!(ev["channel"], "DU1");
    assert_eq!(ev["channel_type"], "im");
    assert_eq!(ev["files"][0]["id"], fid.as_str());
    assert_eq!(ev["files"][0]["user"], "U1");
    assert_eq!(ev["files"][0]["url_private"], url.as_str());
}

#[tokio::test]
async fn web_api_odds_and_ends() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let (mut ws, _, _) = connect(&slack).await;
    let client = reqwest::Client::new();
    let post_json =
        |method: &str, body: Value| client.post(format!("{}{method}", slack.api_url())).bearer_auth(BOT_TOKEN).json(&body).send();

    // chat.postMessage (JSON) to a user id lands in their DM and is echoed back as a bot message.
    let body: Value =
        post_json("chat.postMessage", json!({"channel": "U1", "text": "Saved :palm_tree:"})).await.unwrap().json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["channel"], "DU1");
    let echo = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(echo["payload"]["event"]["bot_id"], "B1");
    assert!(echo["payload"]["event"].get("client_msg_id").is_none());
    assert_eq!(slack.bot_texts("U1"), vec!["Saved :palm_tree:".to_string()]);
    assert!(slack.wait_for_bot_text("U1", "saved", secs(1)).await.is_some());
    let call = &slack.calls_to("chat.postMessage")[0];
    assert!(call.content_type.as_deref().unwrap().starts_with("application/json"));
    assert_eq!(call.param("channel").as_deref(), Some("U1"));

    let body: Value = post_json("conversations.open", json!({"users": "U1"})).await.unwrap().json().await.unwrap();
    assert_eq!(body["channel"]["id"], "DU1");

    // Emoji.
    slack.set_emoji(HashMap::from([
        ("hackshark".to_string(), "https://emoji.example/hackshark.png".to_string()),
        ("hackhaj".to_string(), "alias:hackshark".to_string()),
    ]));
    let (_, _, body) = api(&slack, "emoji.list", Some(BOT_TOKEN), &[]).await;
    assert_eq!(body["emoji"]["hackhaj"], "alias:hackshark");
    assert!(body["cache_ts"].is_string());

    // views.publish stores the Home view; app_home_opened carries it.
    let body: Value =
        post_json("views.publish", json!({"user_id": "U1", "view": {"type": "home", "blocks": []}})).await.unwrap().json().await.unwrap();
    assert_eq!(body["ok"], true);
    let view_id = body["view"]["id"].as_str().unwrap().to_string();
    assert_eq!(slack.home_view("U1").unwrap()["id"], view_id.as_str());
    slack.app_home_opened("U1").await;
    let ev = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(ev["payload"]["event"]["type"], "app_home_opened");
    assert_eq!(ev["payload"]["event"]["view"]["id"], view_id.as_str());

    // block_actions from the Home view, then views.open with its trigger: fine once, then exchanged.
    let env_id = slack.block_action("U1", "add_preset", "", slack.home_view("U1")).await;
    let env = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(env["envelope_id"], env_id.as_str());
    assert_eq!(env["type"], "interactive");
    assert_eq!(env["payload"]["type"], "block_actions");
    assert_eq!(env["payload"]["container"]["type"], "view");
    assert_eq!(env["payload"]["actions"][0]["action_id"], "add_preset");
    let trigger = env["payload"]["trigger_id"].as_str().unwrap().to_string();
    let modal = json!({"trigger_id": trigger, "view": {"type": "modal", "callback_id": "preset", "title": {"type": "plain_text", "text": "x"}, "blocks": []}});
    let body: Value = post_json("views.open", modal.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["view"]["type"], "modal");
    let body: Value = post_json("views.open", modal).await.unwrap().json().await.unwrap();
    assert_eq!(body["error"], "exchanged_trigger_id");
    // An expired trigger.
    slack.set_trigger_ttl(millis(50));
    slack.block_action("U1", "edit", "hackshark", None).await;
    let env = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(env["payload"]["container"]["type"], "message");
    tokio::time::sleep(millis(100)).await;
    let body: Value = post_json("views.open", json!({"trigger_id": env["payload"]["trigger_id"], "view": {"type": "modal"}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "expired_trigger_id");

    // view_submission with a file_input.
    let fid = slack.add_file(test_png(64, 64, "x"), "x.png", "image/png");
    let state = slack.file_input_state("photo", "photo_input", &[&fid]);
    let env_id = slack.view_submission("U1", "preset", "{\"emoji\":\"hackshark\"}", state).await;
    let env = next_json(&mut ws, secs(5)).await.unwrap();
    assert_eq!(env["envelope_id"], env_id.as_str());
    assert_eq!(env["accepts_response_payload"], true);
    assert_eq!(env["payload"]["type"], "view_submission");
    assert_eq!(env["payload"]["view"]["callback_id"], "preset");
    assert_eq!(env["payload"]["view"]["state"]["values"]["photo"]["photo_input"]["files"][0]["id"], fid.as_str());

    // The envelope log has everything that was sent, in order.
    let kinds: Vec<String> = slack.envelopes().iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, vec!["events_api", "events_api", "interactive", "interactive", "interactive"]);
    assert!(slack.envelopes().iter().all(|e| e.conn.is_some()));
}
