variable "name" {
  type    = string
  default = "app"
}

job "build" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "cd ${var.nmae} && make"]
    }
  }
}
