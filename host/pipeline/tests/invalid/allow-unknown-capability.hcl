runner_type "make" {
  source = "pikoci://exec"
  allow {
    network = ["example.com"]
    env     = ["GO FLAGS"]
  }
}

job "a" {
  task "t" {
    run "make" { path = "make" }
  }
}
