//! The inputs of a generated preset photo (badge, frame), fetched from Slack: the member's own
//! photo as the profile shows it, and the status emoji's image. Used at swap time
//! (`jobs/swap/generated.rs`) and for the App Home previews (`gallery.rs`).
//!
//! Only Slack's hosts are fetched (the download allow-list); Slack's default avatars are
//! served through Gravatar with the Slack-hosted image as its `d=` fallback, and that one is
//! what is fetched.

use crate::slack::SlackClient;
use crate::store::{emoji_images, Store};

/// Slack's default avatars are served through Gravatar with the Slack-hosted image as its `d=`
/// fallback: that one is on the download allow-list, Gravatar is not.
pub(crate) fn default_avatar_url(slack: &SlackClient, url: &str) -> String {
    if slack.may_download(url) {
        return url.to_string();
    }
    let fallback = url::Url::parse(url).ok().and_then(|u| u.query_pairs().find(|(k, _)| k == "d").map(|(_, v)| v.into_owned()));
    fallback.filter(|d| slack.may_download(d)).unwrap_or_else(|| url.to_string())
}

/// The image the profile shows at `url` (Slack's default avatar too), if it downloads and is an
/// image; failures are logged.
pub(crate) async fn profile_photo(slack: &SlackClient, url: &str, max_bytes: usize) -> Option<Vec<u8>> {
    match slack.download(&default_avatar_url(slack, url), false, max_bytes).await {
        Ok(b) if crate::photo::sniff(&b).is_some() => Some(b),
        Ok(_) => {
            tracing::warn!("the profile's photo is not an image");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not download the profile's photo to draw from");
            None
        }
    }
}

/// The first of `urls` (Slack hosts only) whose emoji image is kept in the emoji image tree or
/// downloads as an image (then kept): its URL and bytes.
pub(crate) async fn emoji_image(store: &Store, slack: &SlackClient, urls: Vec<String>) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    for url in urls.into_iter().filter(|u| slack.may_download(u)) {
        if let Some(bytes) = emoji_images::get(store, &url)? {
            return Ok(Some((url, bytes)));
        }
        match slack.download(&url, false, emoji_images::MAX_BYTES).await {
            Ok(bytes) if crate::photo::sniff(&bytes).is_some() => {
                emoji_images::put(store, &url, &bytes)?;
                return Ok(Some((url, bytes)));
            }
            Ok(_) => tracing::warn!("the status emoji's image is not an image"),
            Err(e) => tracing::warn!(error = %e, "could not download the status emoji's image"),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    /// The fixtures' default avatar is a Gravatar URL whose `d=` is Slack's own image: that one
    /// is fetched (the allow-list refuses Gravatar); any other URL is left for the allow-list.
    #[test]
    fn slacks_default_avatar_is_fetched_from_slack_not_gravatar() {
        let api = url::Url::parse("http://127.0.0.1:9/api/").unwrap();
        let slack = SlackClient::new(api, Secret::new("xoxb-1"), Secret::new("xapp-1")).unwrap();
        let gravatar = "https://secure.gravatar.com/avatar/cb0c2b2ca5e8de16be31a55a734d0f31.jpg?s=512&d=https%3A%2F%2Fa.slack-edge.com%2Fdf10d%2Fimg%2Favatars%2Fava_0001-512.png";
        assert_eq!(default_avatar_url(&slack, gravatar), "https://a.slack-edge.com/df10d/img/avatars/ava_0001-512.png");
        let own = "https://avatars.slack-edge.com/2020/a_512.png";
        assert_eq!(default_avatar_url(&slack, own), own);
        let elsewhere = "https://secure.gravatar.com/avatar/x.jpg?d=https%3A%2F%2Fevil.example.com%2Fa.png";
        assert_eq!(default_avatar_url(&slack, elsewhere), elsewhere, "refused later by the download allow-list");
    }
}
