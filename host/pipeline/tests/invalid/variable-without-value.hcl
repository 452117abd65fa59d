variable "token" {
  type = string
}

job "build" {
  task "t" {
    run "exec" {
      path = "echo"
      args = [var.token]
    }
  }
}
