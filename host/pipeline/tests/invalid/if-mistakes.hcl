job "a" {
  else_if "early" {
    condition = "true"
  }
  if "x" {
    condition = "$A == "
    task "t" {
      run "exec" { path = "true" }
    }
  }
  else {
    task "after-a-broken-if" {
      run "exec" { path = "true" }
    }
  }
  if "y" {
    task "t" {
      run "exec" { path = "true" }
    }
  }
  if "z" {
    condition = "$B"
    task "t" {
      run "exec" { path = "true" }
    }
  }
  else {
    task "t" {
      run "exec" { path = "true" }
    }
  }
  else {
    task "u" {
      run "exec" { path = "true" }
    }
  }
}
