job "deploy" {
  input "env-name" {
    type = "string"
  }
  input "env" {
    type    = "string"
    options = ["staging", "production"]
    default = "qa"
  }
  input "target" {
  }
  input "target" {
  }
  input "count" {
    type    = "number"
    options = ["1", "2"]
  }
  input "regions" {
    multiple = true
  }
  input "fast" {
    type = "boolean"
  }
  task "t" {
    run "exec" { path = "true" }
  }
}
