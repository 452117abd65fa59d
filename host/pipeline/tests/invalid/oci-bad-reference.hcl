resource_type "s3" {
  source = "oci://ghcr.io/Example/S3"
}

resource "s3" "bucket" {}

job "a" {
  get "s3" "bucket" {}
}
