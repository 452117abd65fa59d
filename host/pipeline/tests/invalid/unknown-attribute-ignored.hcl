# An attribute pikoci does not know is ignored with a warning (a pipeline written for a newer
# PikoCI still loads); one that looks like a misspelt known attribute stays an error.
job "build" {
  priority = "high"
  concurrncy = 2
  task "t" {
    run "shell" {
      cmd = "true"
    }
  }
}
