# PikoCI docs/Services.md parts pikoci does not run yet: its built-in RabbitMQ service and a
# service type sourced from a PikoCI `.hcl` definition. Refused with the reason, not accepted and
# ignored.
service_type "remote-postgres" {
  source = "https://example.com/services/postgres.hcl"
  params = ["version"]
}

service_type "rabbitmq" {
  source = "pikoci://rabbitmq"
}

job "test" {
  service "rabbitmq" {
    version = "3.13"
  }
  service "remote-postgres" {}
}
