# A notification type in PikoCI's definition format, loaded with `source = "FILE.hcl"`: its
# `params` list and its `notify "exec"` command, whose heredoc escapes shell `${...}` as `$${...}`.
notification_type "webhook" {
  params = [
    "url",
    "base_url",
  ]
  notify "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      BASE_URL="$${param_base_url%/}"
      MESSAGE="$${NOTIFY_MESSAGE:-[$BUILD_PIPELINE_NAME/$BUILD_JOB_NAME] Build #$BUILD_NUMBER $notify_build_status}"
      curl -sf -o /dev/null -X POST -H "Content-Type: text/plain" --data "$MESSAGE $BASE_URL" "$param_url"
      EOT
    ]
  }
}
