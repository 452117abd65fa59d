# Types from every kind of source, each with only the capabilities it needs.
#
#   pikoci pipeline validate examples/pipelines/plugins.hcl

# A resource type published to an OCI registry, pinned by digest, allowed to reach one host.
resource_type "http-file" {
  source = "oci://ghcr.io/example/pikoci-http-file:1.2.0@sha256:4f1c0c1c0e0b7d3f2a1e9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
  allow {
    net = ["downloads.example.com:443"]
  }
}

# A runner from a component file next to this pipeline is checked by the host; here it is a
# built-in under another name, allowed to run one program and see one variable.
runner_type "make" {
  source = "pikoci://exec"
  allow {
    run = ["make"]
    env = ["GOFLAGS"]
  }
}

# PikoCI's inline definition: run by pikoci's adapter in the same sandbox.
resource_type "date" {
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "printf '[{\"date\":\"%s\"}]' \"$(date -u +%F)\""]
  }
  allow {
    run = ["/bin/sh"]
  }
}

resource "http-file" "dataset" {
  check_interval = "0 3 * * *"
  params {
    url = "https://downloads.example.com/dataset.csv"
  }
}

resource "date" "today" {
  check_interval = "@every 1h"
}

job "report" {
  get "http-file" "dataset" {
    trigger = true
  }

  get "date" "today" {}

  task "build-report" {
    run "make" {
      path = "make"
      args = ["report"]
    }
  }
}
