# PikoCI docs/Services.md parts pikoci does not run yet: its built-in MariaDB service and a service
# type sourced from a PikoCI `.hcl` definition. Refused with the reason, not accepted and ignored.
service_type "remote-postgres" {
  source = "https://example.com/services/postgres.hcl"
  params = ["version"]
}

service_type "mariadb" {
  source = "pikoci://mariadb"
}

job "test" {
  service "mariadb" {
    version = "11.4.2"
  }
  service "remote-postgres" {}
}
