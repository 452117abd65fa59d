variable "count" {
  type    = integer
  default = 3
}

job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
}
