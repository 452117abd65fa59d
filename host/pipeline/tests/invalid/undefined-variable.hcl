variable "repo_url" {
  type    = string
  default = "https://example.com/app.git"
}

resource "git" "app" {
  params {
    url = var.repo_ulr
  }
}

job "build" {
  get "git" "app" {}
}
