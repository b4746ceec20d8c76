#!/usr/bin/env bash
# enrollsim-action.sh downloads a release binary of enrollsim, checks it
# against the release's SHA256SUMS, and runs a suite with JUnit, JSON and
# markdown reports. The GitHub Action (action.yml) and the GitLab template
# (ci/gitlab/enrollsim.gitlab-ci.yml) both run it. Every input is an
# environment variable, never text pasted into a script (the script-injection
# rule of GitHub's security hardening guide):
#
#   ENROLLSIM_VERSION            release tag (v1.2.3; 1.2.3 means v1.2.3) or latest (default)
#   ENROLLSIM_SUITE              suites, scenario files or directories, separated by white space
#   ENROLLSIM_ARGS               more arguments of 'enrollsim run', separated by white space
#   ENROLLSIM_JUNIT              JUnit report (default enrollsim-junit.xml)
#   ENROLLSIM_JSON               JSON report (default enrollsim.json)
#   ENROLLSIM_MARKDOWN           markdown report (default enrollsim-summary.md)
#   ENROLLSIM_SUMMARY            true (default): append the markdown to $GITHUB_STEP_SUMMARY
#   ENROLLSIM_WORKING_DIRECTORY  where to run; report paths are relative to it (default .)
#   ENROLLSIM_DOWNLOAD_URL       releases base (default https://github.com/enrollsim/enrollsim/releases):
#                                files at BASE/download/TAG/FILE, the newest tag by BASE/latest
#
# It exits with enrollsim's exit code (0 pass, 1 a check failed, 2 usage,
# 3 could not run, 130 interrupted); its own failures exit 2 for a bad
# input and 3 when the binary could not be fetched or verified. Secrets
# reach enrollsim through the environment only; nothing here prints one.
set -euo pipefail
set +x

readonly default_base=https://github.com/enrollsim/enrollsim/releases
readonly step_summary_limit=$((1024 * 1024)) # GitHub drops a step summary over 1 MiB
readonly max_binary_bytes=$((256 * 1024 * 1024))
readonly max_sums_bytes=$((64 * 1024))

exit_code_written=""
cleanup=""

say() { printf 'enrollsim-action: %s\n' "$*" >&2; }

# die CODE MESSAGE...
die() {
  local code=$1
  shift
  say "error: $*"
  exit "$code"
}

# output NAME VALUE appends a step output for GitHub (nothing elsewhere).
output() {
  [ -n "${GITHUB_OUTPUT:-}" ] || return 0
  case $2 in *$'\n'*) return 0 ;; esac
  printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
}

# on_exit writes the exit-code output on every way out, a failed download too.
on_exit() {
  local code=$?
  [ -z "$cleanup" ] || rm -rf "$cleanup"
  [ -n "$exit_code_written" ] || output exit-code "$code"
  exit "$code"
}

is_true() {
  case $1 in true | True | TRUE | yes | 1 | on) return 0 ;; *) return 1 ;; esac
}

# platform prints OS ARCH EXT of the release file for this machine.
platform() {
  local os arch ext=""
  case ${RUNNER_OS:-$(uname -s)} in
    Linux | linux) os=linux ;;
    macOS | Darwin) os=darwin ;;
    Windows | MINGW* | MSYS* | CYGWIN*) os=windows ext=.exe ;;
    *) die 3 "no release binary for this OS ($(uname -s)): releases are built for linux, darwin and windows" ;;
  esac
  case ${RUNNER_ARCH:-$(uname -m)} in
    X64 | x86_64 | amd64) arch=amd64 ;;
    ARM64 | aarch64 | arm64) arch=arm64 ;;
    *) die 3 "no release binary for this architecture ($(uname -m)): releases are built for amd64 and arm64" ;;
  esac
  printf '%s %s %s\n' "$os" "$arch" "$ext"
}

# curl_opts fills the array curl_args with what every request shares: fail
# on HTTP errors, bounded waits, retries of transient failures, and no
# redirect to another protocol than the base URL's.
curl_opts() {
  local proto="=https"
  case $base in
    http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) proto="=http,https" ;;
    http://*)
      proto="=http,https"
      say "warning: $base is plain http: SHA256SUMS comes the same way, so the check catches a corrupt download, not a forged one"
      ;;
  esac
  curl_args=(--silent --show-error --fail --location --max-redirs 10
    --proto "$proto" --proto-redir "$proto"
    --connect-timeout 20 --max-time 600 --retry 3 --retry-delay 2 --retry-max-time 120)
}

# fetch URL DEST MAXBYTES WHAT downloads one file; --max-filesize refuses a
# larger file announced by Content-Length (curl 8.4 and later also stop one
# that grows past it).
fetch() {
  local url=$1 dest=$2 max=$3 what=$4 code rc=0
  code=$(curl "${curl_args[@]}" --max-filesize "$max" --output "$dest" \
    --write-out '%{http_code}' "$url" 2>"$dest.err") || rc=$?
  [ "$rc" -eq 0 ] && return 0
  case $code in
    404) die 3 "$what: not found (HTTP 404) at $url; is there a release $version with this file? (see $base)" ;;
  esac
  case $rc in
    63) die 3 "$what: larger than $max bytes at $url, refused" ;;
  esac
  die 3 "$what: download from $url failed (curl exit $rc, HTTP ${code:-none}): $(head -c 500 "$dest.err")"
}

# resolve_version sets version to the tag asked for, or the newest release's
# tag, which BASE/latest redirects to (.../releases/tag/TAG on GitHub): no
# API call, so no API rate limit.
resolve_version() {
  version=${ENROLLSIM_VERSION:-latest}
  if [ "$version" = latest ]; then
    local effective
    effective=$(curl "${curl_args[@]}" --max-filesize 5000000 --output /dev/null \
      --write-out '%{url_effective}' "$base/latest") ||
      die 3 "could not find the latest release at $base/latest"
    case $effective in
      */tag/?*) version=${effective##*/tag/} ;;
      *) die 3 "$base/latest led to $effective, not a release tag: is there a release yet? Pin one with version" ;;
    esac
  fi
  case $version in [0-9]*) version=v$version ;; esac
  [[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] ||
    die 2 "version '$version' is not a release tag (v1.2.3 or latest)"
}

# sha256 FILE prints the file's SHA-256 in hex.
sha256() {
  local sum
  if command -v sha256sum >/dev/null 2>&1; then
    sum=$(sha256sum "$1")
  elif command -v shasum >/dev/null 2>&1; then
    sum=$(shasum -a 256 "$1")
  else
    die 3 "neither sha256sum nor shasum is installed: cannot check the download"
  fi
  printf '%s\n' "${sum%% *}" | tr 'A-F' 'a-f'
}

# verify DIR checks DIR/$file against the line of DIR/SHA256SUMS naming it.
verify() {
  local dir=$1 want got
  want=$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$dir/SHA256SUMS" | tr 'A-F' 'a-f')
  [[ $want =~ ^[0-9a-f]{64}$ ]] ||
    die 3 "SHA256SUMS of $version has no single checksum for $file"
  got=$(sha256 "$dir/$file")
  if [ "$got" != "$want" ]; then
    die 3 "checksum mismatch for $file: SHA256SUMS of $version says $want, the download is $got; refusing to run it"
  fi
}

# install_binary sets bin to a verified binary of $version: the one cached by an
# earlier job on this runner if it still matches its SHA256SUMS, else a
# fresh download, checked before it is made executable, then cached. The
# cache follows the runner's tool cache layout (TOOL/VERSION/ARCH), so a
# self-hosted runner downloads each version once; a hosted runner starts
# empty each job.
install_binary() {
  local root dir tmp
  root=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/enrollsim
  dir=$root/$version/$os-$arch
  bin=$dir/$file
  if [ -f "$dir.complete" ] && [ -f "$bin" ] && [ -f "$dir/SHA256SUMS" ]; then
    if (verify "$dir") 2>/dev/null; then
      say "enrollsim $version ($os/$arch) from the cache $dir"
      return 0
    fi
    say "the cached $bin no longer matches its checksum: downloading it again"
  fi
  mkdir -p "$root"
  tmp=$(mktemp -d "$root/.download.XXXXXX")
  cleanup=$tmp
  say "downloading enrollsim $version ($os/$arch) from $base"
  fetch "$base/download/$version/SHA256SUMS" "$tmp/SHA256SUMS" "$max_sums_bytes" "SHA256SUMS of $version"
  fetch "$base/download/$version/$file" "$tmp/$file" "$max_binary_bytes" "$file"
  verify "$tmp"
  chmod +x "$tmp/$file"
  rm -f "$dir.complete" "$tmp"/*.err
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  # A rename: a job starting meanwhile on this runner sees all of it or none.
  mv "$tmp" "$dir"
  cleanup=""
  touch "$dir.complete"
}

# abs PATH prints PATH made absolute (a Windows path on Windows, for the
# steps that read the outputs).
abs() {
  local p=$1
  case $p in /*) ;; *) p=$PWD/$p ;; esac
  if [ "$os" = windows ] && command -v cygpath >/dev/null 2>&1; then
    cygpath -w "$p"
  else
    printf '%s\n' "$p"
  fi
}

# summarize appends the markdown report to the step summary, cut to fit
# GitHub's 1 MiB limit (over it, the summary would be dropped whole).
summarize() {
  local md=$1 size
  is_true "${ENROLLSIM_SUMMARY:-true}" || return 0
  [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$md" ] || return 0
  size=$(wc -c <"$md" | tr -d ' ')
  if [ "$size" -le $((step_summary_limit - 1024)) ]; then
    cat "$md" >>"$GITHUB_STEP_SUMMARY"
  else
    head -c $((step_summary_limit - 1024)) "$md" >>"$GITHUB_STEP_SUMMARY"
    printf '\n\n… cut at 1 MiB, the step summary limit: the whole report is %s\n' "$md" >>"$GITHUB_STEP_SUMMARY"
  fi
}

# run plays the suite and sets code to enrollsim's exit code.
run() {
  local junit=${ENROLLSIM_JUNIT:-enrollsim-junit.xml} json=${ENROLLSIM_JSON:-enrollsim.json}
  local md=${ENROLLSIM_MARKDOWN:-enrollsim-summary.md}
  local -a suites=() extra=() cmd=()
  # Split at white space: no glob is expanded and no quote is read.
  read -r -d '' -a suites <<<"${ENROLLSIM_SUITE:-}" || true
  read -r -d '' -a extra <<<"${ENROLLSIM_ARGS:-}" || true
  cmd=("$bin" run ${suites[@]+"${suites[@]}"} ${extra[@]+"${extra[@]}"}
    --report "junit=$junit" --report "json=$json" --report "markdown=$md")
  # The suites and flag names, not flag values: a value may be a URL with a
  # token in it, and enrollsim itself takes secrets only from the environment.
  local shown=() a
  for a in ${suites[@]+"${suites[@]}"} ${extra[@]+"${extra[@]}"}; do
    case $a in -*) shown+=("${a%%=*}") ;; esac
  done
  say "enrollsim run ${suites[*]:-(the default suite)}${shown[*]:+ ${shown[*]}}"
  code=0
  "${cmd[@]}" || code=$?
  summarize "$md"
  output exit-code "$code"
  exit_code_written=1
  [ ! -f "$junit" ] || output junit "$(abs "$junit")"
  [ ! -f "$json" ] || output json "$(abs "$json")"
  [ ! -f "$md" ] || output markdown "$(abs "$md")"
}

main() {
  trap on_exit EXIT
  command -v curl >/dev/null 2>&1 || die 3 "curl is not installed"
  base=${ENROLLSIM_DOWNLOAD_URL:-$default_base}
  base=${base%/}
  case $base in
    https://* | http://*) ;;
    *) die 2 "download URL '$base' is not an https:// URL" ;;
  esac
  local plat
  plat=$(platform)
  read -r os arch ext <<<"$plat"
  curl_opts
  resolve_version
  file=enrollsim_${version}_${os}_${arch}${ext}
  install_binary
  if [ -n "${ENROLLSIM_WORKING_DIRECTORY:-}" ]; then
    cd "$ENROLLSIM_WORKING_DIRECTORY" || die 2 "working directory $ENROLLSIM_WORKING_DIRECTORY: not found"
  fi
  run
  exit "$code"
}

main "$@"
