variable "password" {
  type = string
  secret "vualt" {
    path = "secret/db"
    key  = "password"
  }
}

job "a" {
  task "t" {
    run "exec" {
      path = "echo"
      args = [var.password]
    }
  }
}
