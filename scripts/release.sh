#!/usr/bin/env bash
# release.sh cross-compiles enrollsim for linux, darwin and windows on amd64
# and arm64, statically (CGO_ENABLED=0), stamping the version from git, and
# writes SHA-256 checksums, man pages and shell completion files:
#
#   scripts/release.sh [DIR]        (default dist/; VERSION=v1.2.3 overrides git)
set -euo pipefail
out=${1:-dist}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
rm -rf "$out"
mkdir -p "$out"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  os=${target%/*} arch=${target#*/}
  ext=""
  [ "$os" = windows ] && ext=.exe
  name="enrollsim_${version}_${os}_${arch}${ext}"
  echo "building $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$out/$name" ./cmd/enrollsim
done
go run ./scripts/gendocs "$out/docs"
tar -C "$out" -czf "$out/enrollsim_${version}_docs.tar.gz" docs
rm -rf "$out/docs"
(cd "$out" && sha256sum enrollsim_* > SHA256SUMS)
echo "release $version in $out/:"
ls -1 "$out"
