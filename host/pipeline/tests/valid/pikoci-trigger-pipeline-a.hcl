# PikoCI docs/Resource-Types.md, built-in trigger: pipeline A fires the trigger after a build.
# (The doc's snippet leaves out the git resource it gets; it is declared here.)
resource "git" "repo" {
  params {
    url  = "https://github.com/example/repo.git"
    name = "repo"
  }
}

resource "trigger" "deploy" {}

job "build" {
  get "git" "repo" { trigger = true }

  task "compile" {
    run "exec" {
      path = "make"
      args = ["build"]
    }
  }

  on_success {
    put "trigger" "deploy" {
      build_sha = "abc123"
      status    = "success"
    }
  }
}
