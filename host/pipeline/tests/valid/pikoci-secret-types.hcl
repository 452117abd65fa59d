# PikoCI docs/Secret-Types.md: an inline vault, sourced vault and file types, secret-backed
# variables, config chaining, and a custom aws-ssm type.
variable "vault_address" {
  type    = string
  default = "http://vault:8200"
}

variable "vault_token" {
  type = string
}

secret_type "vault" {
  params  = ["path", "address", "token"]
  address = var.vault_address
  token   = var.vault_token

  get "exec" {
    path = "/bin/sh"
    args = ["-ec", "VAULT_ADDR=$param_address VAULT_TOKEN=$param_token vault kv get -format=json $param_path | jq -c '.data.data // .data'"]
  }
}

variable "vault_addr" {
  type = string
  secret "env" {
    key = "VAULT_ADDR"
  }
}

secret_type "my-vault" {
  source  = "pikoci://vault"
  address = var.vault_addr # resolved from .env before vault secrets are fetched
  token   = var.vault_token
}

secret_type "db-file" {
  source = "pikoci://file"
  path   = "/run/secrets/db.json"
}

secret_type "env-creds" {
  source = "pikoci://file"
}

secret_type "app-key" {
  source = "pikoci://file"
  path   = "/etc/pikoci/github-app.pem"
}

secret_type "aws-ssm" {
  params = ["name", "region"]
  region = "us-east-1"

  get "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      VALUE=$(aws ssm get-parameter --name $param_path \
        --region $param_region --with-decryption \
        --query 'Parameter.Value' --output text)
      echo "{\"value\": \"$VALUE\"}"
      EOT
    ]
  }
}

variable "db_password" {
  type = string
  secret "my-vault" {
    path = "secret/data/db"
    key  = "password"
  }
}

variable "db_user" {
  type = string
  secret "db-file" {
    key = "username"
  }
}

variable "api_key" {
  type = string
  secret "db-file" {
    path = "/run/secrets/api.json"
    key  = "key"
  }
}

variable "env_db_password" {
  type = string
  secret "env-creds" {
    path = "/run/secrets/db.env"
    key  = "DB_PASSWORD"
  }
}

variable "github_app_key" {
  type = string
  secret "app-key" {
    key = "content"
  }
}

variable "ssm_key" {
  type = string
  secret "aws-ssm" {
    path = "/prod/api-key"
    key  = "value"
  }
}

resource "git" "repo" {
  params {
    url   = "https://github.com/example/repo.git"
    token = var.db_password
  }
}

resource "cron" "timer" {
  check_interval = "@every 1m"
}

job "deploy" {
  get "git" "repo" {
    trigger = true
  }
  task "migrate" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "DATABASE_PASSWORD=$param_token make migrate"]
    }
  }
}

job "migrate" {
  get "cron" "timer" { trigger = true }
  task "migrate" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "DATABASE_URL=postgres://admin:${var.db_password}@localhost/app make migrate"]
    }
  }
  task "use-key" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "curl -H 'Authorization: ${var.ssm_key}' https://api.example.com"]
    }
  }
}
