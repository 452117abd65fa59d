service_type "pg" {
  start "exec" {
    path = "pg_ctl"
    args = ["start"]
  }
}

job "a" {
  service "pg" {}
  task "t" {
    run "exec" { path = "true" }
  }
}
