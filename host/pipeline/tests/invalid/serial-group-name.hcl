job "deploy" {
  serial_groups = ["Prod Deploys"]
  task "t" {
    run "shell" {
      cmd = "true"
    }
  }
}
