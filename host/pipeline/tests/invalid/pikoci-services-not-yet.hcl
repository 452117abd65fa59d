# PikoCI docs/Services.md parts pikoci does not run yet: its built-in Kafka service and a
# service type sourced from a PikoCI `.hcl` definition. Refused with the reason, not accepted and
# ignored.
service_type "remote-postgres" {
  source = "https://example.com/services/postgres.hcl"
  params = ["version"]
}

service_type "kafka" {
  source = "pikoci://kafka"
}

job "test" {
  service "kafka" {
    version = "3.13"
  }
  service "remote-postgres" {}
}
