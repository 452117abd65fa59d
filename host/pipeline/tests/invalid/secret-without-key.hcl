variable "password" {
  type = string
  secret "vault" {
    path = "secret/db"
  }
}

job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
}
