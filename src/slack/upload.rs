//! Files the bot uploads to Slack (SPEC, "App Home shows the photos"): the three-step upload
//! (`files.getUploadURLExternal` → a POST of the bytes to the URL Slack returns →
//! `files.completeUploadExternal`, no channel, so the file stays private to the app) and
//! `files.delete`. `files.upload` is retired and never called.
//!
//! The upload URL passes the same host rules as a download (Slack's hosts, or the origin of
//! `SLACK_API_URL`), carries no token (it is pre-signed; neither the URL nor a header gets one),
//! follows no redirect, and is counted and traced like every Web API call (method label
//! `files.upload_url`).

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument;

use super::{without_url, ApiError, SlackClient};

/// The metric and span label of the POST to the upload URL.
const UPLOAD_POST: &str = "files.upload_url";

/// The most of the upload URL's answer that is read (Slack answers a short text).
const MAX_UPLOAD_ANSWER: usize = 64 << 10;

/// `files.getUploadURLExternal`'s answer.
#[derive(Debug, Default, Deserialize)]
struct UploadTicket {
    #[serde(default)]
    upload_url: Option<String>,
    #[serde(default)]
    file_id: Option<String>,
}

/// A file in `files.completeUploadExternal`'s answer.
#[derive(Debug, Default, Deserialize)]
struct Completed {
    #[serde(default)]
    id: Option<String>,
}

impl SlackClient {
    /// Uploads `bytes` as a file private to the app and returns its id (`F…`). `alt` is the
    /// screen-reader text Slack keeps with it.
    pub(crate) async fn upload_file(&self, bytes: Vec<u8>, filename: &str, title: &str, alt: &str) -> Result<String, ApiError> {
        let length = bytes.len().to_string();
        let bot = self.bot.clone();
        let args = [("filename", filename), ("length", length.as_str()), ("alt_txt", alt)];
        let v = self.form("files.getUploadURLExternal", &bot, &args).await?;
        let ticket: UploadTicket = serde_json::from_value(v).map_err(|e| ApiError::Decode(e.to_string()))?;
        let (Some(url), Some(id)) = (ticket.upload_url.filter(|u| !u.is_empty()), ticket.file_id.filter(|f| !f.is_empty())) else {
            return Err(ApiError::Decode("files.getUploadURLExternal gave no upload_url or file_id".into()));
        };
        self.post_upload(&url, bytes).await?;
        let files = serde_json::json!([{ "id": id, "title": title }]).to_string();
        let v = self.form("files.completeUploadExternal", &bot, &[("files", files.as_str())]).await?;
        let done: Vec<Completed> = serde_json::from_value(v.get("files").cloned().unwrap_or(Value::Array(Vec::new())))
            .map_err(|e| ApiError::Decode(e.to_string()))?;
        // Slack names the completed file; an answer without one still completed ours.
        Ok(done.into_iter().find_map(|f| f.id).filter(|f| !f.is_empty()).unwrap_or(id))
    }

    /// The bytes, raw, to the URL `files.getUploadURLExternal` returned. HTTP 200 is success.
    async fn post_upload(&self, url: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        let url = self.allowed(url)?;
        let span = tracing::info_span!("slack_api", method = UPLOAD_POST, status = tracing::field::Empty, ms = tracing::field::Empty);
        async {
            let start = Instant::now();
            let out = self.post_upload_inner(url, bytes).await;
            let elapsed = start.elapsed();
            let span = tracing::Span::current();
            span.record("ms", elapsed.as_millis() as u64);
            let code = match &out {
                Ok(()) => "ok".to_string(),
                Err(e) => e.code(),
            };
            span.record("status", code.as_str());
            self.telemetry.api_call(UPLOAD_POST, &code, elapsed);
            match &out {
                Ok(()) => tracing::info!("ok"),
                Err(e) => tracing::info!(error = %e, "call failed"),
            }
            out
        }
        .instrument(span)
        .await
    }

    async fn post_upload_inner(&self, url: url::Url, bytes: Vec<u8>) -> Result<(), ApiError> {
        let req = self.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/octet-stream").body(bytes);
        let resp = req.send().await.map_err(|e| ApiError::Transport(without_url(e)))?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(ApiError::RateLimited { retry_after: super::retry_after(resp.headers()) });
        }
        if resp.status().is_redirection() {
            return Err(ApiError::Redirect(format!("the upload URL answered HTTP {status}")));
        }
        // Drain (capped) so the connection can be reused; the text itself says nothing more.
        let _ = super::read_capped(resp, MAX_UPLOAD_ANSWER, ApiError::AnswerTooLarge(MAX_UPLOAD_ANSWER)).await;
        if status == 200 {
            Ok(())
        } else {
            Err(ApiError::Http(status))
        }
    }

    /// `files.delete` of a file the bot uploaded.
    pub(crate) async fn files_delete(&self, file: &str) -> Result<(), ApiError> {
        self.form("files.delete", &self.bot.clone(), &[("file", file)]).await.map(|_| ())
    }
}
