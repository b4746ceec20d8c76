#!/usr/bin/env bash
# notice.sh writes NOTICE: enrollsim's own notice, then the NOTICE file of
# every module linked into the binary that has one, as Apache-2.0 §4(d)
# asks of a redistribution. cmd/enrollsim's TestNoticeHoldsEveryDependencyNotice
# fails when a dependency's NOTICE is missing from it.
set -euo pipefail
{
  echo "enrollsim"
  echo "Copyright 2026 The enrollsim authors"
  echo
  echo "This product is licensed under the Apache License, Version 2.0 (LICENSE)."
  echo "It includes the following software, whose NOTICE files follow."
  go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/enrollsim |
    sort -u | while read -r mod dir; do
      [ -f "$dir/NOTICE" ] || continue
      echo
      echo "---- $mod ----"
      cat "$dir/NOTICE"
    done
} > NOTICE
