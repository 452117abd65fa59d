# PikoCI docs/Resource-Types.md: defining a resource type inline, and overriding the built-in git.
resource_type "git" {
  params = ["url", "name"]

  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "git ls-remote $param_url HEAD | awk '{print $1}' | jq -Rsc '[{\"ref\": .}]'"]
  }

  pull "exec" {
    path = "/bin/sh"
    args = ["-ec", "git clone $param_url $param_name && cd $param_name && git checkout $version_ref"]
  }

  push "exec" { }
}

resource "git" "my_repo" {
  params {
    url  = "https://github.com/PikoCI/pikoci.git"
    name = "pikoci"
  }
}

job "build" {
  get "git" "my_repo" {
    trigger = true
  }
}
