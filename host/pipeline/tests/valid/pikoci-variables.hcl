# PikoCI docs/Variables.md: plain and secret-backed variables, secret chaining, full example.
variable "repo_url" {
  type    = string
  default = "https://github.com/PikoCI/pikoci.git"
}

variable "repo_name" {
  type = string
}

variable "vault_token" {
  type    = string
  default = "my-root-token"
}

secret_type "vault" {
  source  = "pikoci://vault"
  address = "http://vault:8200"
  token   = var.vault_token
}

variable "git_token" {
  type = string
  secret "vault" {
    path = "secret/data/github"
    key  = "token"
  }
}

variable "key_path" {
  type = string
  secret "env" {
    key = "GITHUB_APP_KEY_FILE"
  }
}

variable "key_content" {
  type = string
  secret "file" {
    path = var.key_path
    key  = "content"
  }
}

variable "nested_secret" {
  type = string
  secret "file" {
    path = "${var.key_path}/subdir"
    key  = "content"
  }
}

variable "key_name" {
  type = string
  secret "env" {
    key = "SECRET_KEY_NAME"
  }
}

variable "dynamic_secret" {
  type = string
  secret "vault" {
    path = "secret/data/app"
    key  = var.key_name
  }
}

resource "git" "repo" {
  params {
    url  = var.repo_url
    name = "${var.repo_name}"
  }
}

resource "git" "app" {
  check_interval = "@every 1m"
  params {
    url   = "https://github.com/PikoCI/pikoci.git"
    token = var.git_token
  }
}

job "build" {
  get "git" "app" {
    trigger = true
  }
  get "git" "repo" {}
  task "compile" {
    run "exec" {
      path = "make"
      args = ["build"]
    }
  }
  task "build" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "cd ${var.repo_name} && make build"]
    }
  }
}
