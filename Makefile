# enrollsim: two commands set everything up on a fresh machine:
#   make run    plays the default scenario suite against the embedded reference server
#   make test   gofmt, go vet and every test
GO ?= go
BIN := bin/enrollsim

.PHONY: run test test-full build release image image-chromium bench bench-all vet fmt cover clean screenshot load-screenshot

run: build
	./$(BIN) run

build:
	$(GO) build -o $(BIN) ./cmd/enrollsim

# release cross-compiles six static binaries (linux, darwin, windows on
# amd64 and arm64) stamped with the git version, with SHA256SUMS, man
# pages and shell completions, into dist/ (VERSION=v1.2.3 overrides git).
release:
	scripts/release.sh dist

# image builds the container image enrollsim:VERSION (and :latest) with
# podman (IMAGE_TOOL=docker for docker): the static binary, the CA roots and
# a non-root user on an empty base (Containerfile). image-chromium builds
# the variant with Debian's Chromium (Containerfile.chromium), which pulls
# debian:bookworm-slim and so needs a registry.
image:
	scripts/image.sh static

image-chromium:
	scripts/image.sh chromium

# deps installs what the tests need beyond Go: xmllint validates the junit
# report; Chromium (Debian's package, never a downloaded build) runs the
# browser sign-in driver and its tests; socat terminates TLS with OpenSSL
# for the reference server's tls12-no-ems fault (Go's TLS always does EMS);
# podman builds the container image (make image) and its test.
# apt-get.sh waits up to five minutes for a lock another apt-get holds
# (DPkg::Lock::Timeout=300 for dpkg's, and a retry for the lists lock of
# update, which that option does not cover) rather than failing at once, as
# on a shared machine.
APT := scripts/apt-get.sh
.PHONY: deps
deps:
	@command -v xmllint >/dev/null || ($(APT) update -qq && $(APT) install -y -qq libxml2-utils)
	@command -v chromium >/dev/null || ($(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium)
	@command -v socat >/dev/null || ($(APT) update -qq && $(APT) install -y -qq socat)
	@command -v podman >/dev/null || ($(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq podman)

test: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOGC=$(TEST_GOGC) $(GO) test -count=1 $(SLOW_FIRST) ./...

# SLOW_FIRST are the packages whose tests take longest, named first: go test
# starts packages in the order given, two at a time on two cores, and sim,
# started after the others in path order, ran alone for two minutes at the
# end of the run.
SLOW_FIRST := ./sim ./internal/cli ./sim/chromium ./cmd/enrollsim ./internal/refserver ./internal/transport

# TEST_GOGC: the test binaries live a minute or two and allocate fast (every
# enrollment's TLS, plists and CMS); collecting a quarter as often cut the
# sim package's CPU by 9% (120 → 109 core-seconds) for memory the machine
# has. The tests that measure memory collect first (runtime.GC) or count
# allocations (TotalAlloc), which GOGC does not change.
TEST_GOGC ?= 400

# test-full is make test with every end-to-end sweep whole: the default
# plays a share of the slowest ones that still proves each point (the
# tests that read ENROLLSIM_TEST_SWEEP say which).
test-full:
	ENROLLSIM_TEST_SWEEP=full $(MAKE) test

# bench prints issue 16's three figures with their baselines; bench-all
# runs every benchmark of every package.
bench:
	@scripts/bench.sh

bench-all:
	$(GO) test -run '^$$' -bench . -benchmem ./...

cover:
	$(GO) test -count=1 -coverprofile=cover.out ./... && $(GO) tool cover -func=cover.out | tail -1

clean:
	rm -rf bin dist cover.out

# The HTML report of the demo suite as headless Chromium shows it.
screenshot:
	scripts/screenshot-report.sh bin/report.png

# The HTML report of a 300-device load (its charts) as headless Chromium shows it.
load-screenshot:
	scripts/screenshot-load-report.sh bin/load-report.png
