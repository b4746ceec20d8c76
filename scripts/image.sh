#!/usr/bin/env bash
# image.sh builds the enrollsim container image with podman (Debian's
# package; make deps installs it): the static linux binary for this machine's
# architecture, stamped with the version from git as release.sh does, in the
# build context that Containerfile copies from.
#
#   scripts/image.sh [static|chromium]   (default static)
#
# Tags: enrollsim:VERSION and enrollsim:latest; the chromium variant
# (Containerfile.chromium) enrollsim:VERSION-chromium and enrollsim:chromium.
# VERSION=v1.2.3 overrides git, IMAGE_NAME the name, IMAGE_TOOL=docker the
# tool, CA_BUNDLE the CA roots copied in (default Debian's bundle), GOARCH
# the architecture (default this machine's).
set -euo pipefail

variant=${1:-static}
case $variant in
static) file=Containerfile suffix="" latest=latest ;;
chromium) file=Containerfile.chromium suffix=-chromium latest=chromium ;;
*)
  echo "image.sh: unknown variant '$variant' (accepted: static, chromium)" >&2
  exit 2
  ;;
esac

tool=${IMAGE_TOOL:-podman}
if ! command -v "$tool" >/dev/null; then
  if [ "$tool" = podman ]; then
    echo "podman not found: run make deps (it installs Debian's podman), or set IMAGE_TOOL=docker" >&2
  else
    echo "$tool not found (IMAGE_TOOL=$tool): install it, or unset IMAGE_TOOL to use podman" >&2
  fi
  exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# An image tag takes [A-Za-z0-9_.-] only: semver build metadata (+) becomes -.
tag=${version//+/-}
name=${IMAGE_NAME:-enrollsim}
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [ ! -r "$ca" ]; then
  echo "no CA bundle at $ca: apt-get install ca-certificates, or set CA_BUNDLE to a PEM bundle" >&2
  exit 1
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/enrollsim-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

arch=$(go env GOARCH)
echo "building the static linux/$arch binary, version $version"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
  -ldflags "-s -w -X main.version=$version" -o "$ctx/enrollsim" ./cmd/enrollsim

# The user the image runs as (uid and gid 65532, as distroless's nonroot),
# and the directories it writes to: its home, /work (the working directory,
# where relative report paths land) and /tmp.
mkdir -p "$ctx/etc/ssl/certs" "$ctx/home" "$ctx/work" "$ctx/root/tmp"
chmod 1777 "$ctx/root/tmp"
cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'enrollsim:x:65532:65532:enrollsim:/home/enrollsim:/sbin/nologin' >"$ctx/etc/passwd"
printf '%s\n' 'root:x:0:' 'enrollsim:x:65532:' >"$ctx/etc/group"
cp "$file" "$ctx/Containerfile"

"$tool" build --file "$ctx/Containerfile" --platform "linux/$arch" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --tag "$name:$tag$suffix" --tag "$name:$latest" "$ctx"
echo "image $name:$tag$suffix (and $name:$latest) built with $tool"
