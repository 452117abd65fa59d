//! `pikoci://discord`: posts `{"content": MESSAGE}` to a Discord webhook, granted only the
//! webhook's host (`net:{params.webhook_url|origin}`).
//!
//! ```hcl
//! notification "discord" "builds" {
//!   params { webhook_url = var.discord_webhook }
//!   on      = ["failure"]
//!   message = "Build $BUILD_NUMBER of $BUILD_JOB_NAME failed"
//! }
//! ```
//!
//! With no message, it sends PikoCI's: `❌ [pipeline/job] Build #7 - failure`, with a link to the
//! build when `base_url` is set. The webhook URL is a secret: no message quotes more than its host.

use pikoci_builtin_support::notice::{post_to_webhook, WebhookParams};
use pikoci_sdk::{NoParams, Notice, NotificationType, Result};

struct Discord;

impl NotificationType for Discord {
    type Params = WebhookParams;
    type Options = NoParams;

    fn notify(n: Notice<WebhookParams, NoParams>) -> Result<()> {
        post_to_webhook(&n, "content", "Discord")
    }
}

pikoci_sdk::export_notification_type!(Discord, name = "discord", capabilities = ["net:{params.webhook_url|origin}"]);
