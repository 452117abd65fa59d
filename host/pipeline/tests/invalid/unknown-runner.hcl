job "build" {
  task "compile" {
    run "dokcer" {
      image = "golang"
      cmd   = "make"
    }
  }
}
