service_type "db" {
  start "exec" {
    path = "/bin/sh"
    args = ["-ec", "exec my-db"]
  }
  ready_check "exec" {
    cmd = "pg_isready"
  }
  stop "exec" {}
}

job "test" {
  service "db" {}
}
