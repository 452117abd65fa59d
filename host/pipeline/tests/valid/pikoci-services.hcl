# PikoCI docs/Services.md: an inline service with a ready check, the built-in services declared,
# per-job overrides, the orphan-safe docker container and redis. (Its MariaDB built-in and its
# service sourced from an `.hcl` definition are in ../invalid/pikoci-services-not-yet.hcl.)
service_type "postgres" {
  params = ["version"]

  start "exec" {
    path = "/bin/sh"
    args = ["-ec", <<-EOT
      NAME="pikoci-${BUILD_PIPELINE_NAME}-${BUILD_JOB_NAME}-pg"
      docker rm -f $NAME 2>/dev/null || true
      docker run -d --name $NAME -p 5432:5432 \
        -e POSTGRES_PASSWORD=test \
        postgres:$param_version
    EOT
    ]
  }

  ready_check "exec" {
    path     = "/bin/sh"
    args     = ["-ec", <<-EOT
      NAME="pikoci-${BUILD_PIPELINE_NAME}-${BUILD_JOB_NAME}-pg"
      docker exec $NAME pg_isready
    EOT
    ]
    interval = "2s"
    timeout  = "30s"
  }

  stop "exec" {
    path = "/bin/sh"
    args = ["-ec", <<-EOT
      NAME="pikoci-${BUILD_PIPELINE_NAME}-${BUILD_JOB_NAME}-pg"
      docker rm -f $NAME 2>/dev/null || true
    EOT
    ]
  }
}

service_type "local-postgres" {
  start "exec" {
    path = "/bin/sh"
    args = ["-ec", "initdb -D $WORKDIR/pgdata && pg_ctl -D $WORKDIR/pgdata -l $WORKDIR/pg.log start"]
  }

  ready_check "exec" {
    path     = "/bin/sh"
    args     = ["-ec", "pg_isready"]
    interval = "1s"
    timeout  = "30s"
  }

  stop "exec" {
    path = "/bin/sh"
    args = ["-ec", "pg_ctl -D $WORKDIR/pgdata stop"]
  }
}

service_type "postgresql" {
  source = "pikoci://postgresql"
}

service_type "redis" {
  start "exec" {
    path = "/bin/sh"
    args = ["-ec", "redis-server --daemonize yes --dir $WORKDIR"]
  }

  stop "exec" {
    path = "/bin/sh"
    args = ["-ec", "redis-cli shutdown"]
  }
}

resource "cron" "timer" {
  check_interval = "@every 1m"
}

job "test" {
  service "postgresql" {
    version  = "17"
    port     = "5432"
    password = "postgres123"
  }

  get "cron" "timer" { trigger = true }
  task "run-tests" {
    run "exec" {
      path = "make"
      args = ["test"]
    }
  }
}

job "test-pg15" {
  service "postgres" {
    version = "15"
  }
  get "cron" "timer" { trigger = true }
}

job "test-pg16" {
  service "postgres" {
    version = "16"
  }
  service "local-postgres" {}
  service "redis" {}
  get "cron" "timer" { trigger = true }
}
