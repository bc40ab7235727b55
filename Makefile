# kioskd developer targets. The README's two commands are `go run ./cmd/kioskd demo`
# and `make test`.

GO ?= go
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test test-norace test-purego demo vet staticcheck build hwtest dist test-packaging test-install test-arm cross fault fault-long

# The tests, exactly as CI runs them: vet, staticcheck, the scanner's
# properties that the race detector hides, then every test under -race.
test: vet staticcheck test-packaging cross test-norace test-purego
	$(GO) test -race -count=1 ./...

# The decode rate on the public photos and the 0-allocation property skip
# under -race (the detector allocates; the rate takes 30 s there), so they get
# a plain run of their own, and a skip here is a failure, not a pass. So do
# the camera corpus's rates (issue 16: the committed frames and fresh seeds).
NORACE_TESTS = ^(TestBlackboxRate|TestDecodeNoAllocs|TestCameraCorpus|TestCameraFreshSeeds)$$
test-norace:
	@out=$$($(GO) test -count=1 -v -run '$(NORACE_TESTS)' ./scanner/ 2>&1); rc=$$?; \
	printf '%s\n' "$$out" | grep -E '^(=== RUN|--- |ok|FAIL|\s+\S+_test.go:.*(decoded|default:|read|fresh seeds))'; \
	if [ $$rc != 0 ]; then exit $$rc; fi; \
	if printf '%s\n' "$$out" | grep -q -- '--- SKIP'; then echo "test-norace: a scanner property test skipped"; exit 1; fi; \
	for t in TestBlackboxRate TestDecodeNoAllocs TestCameraCorpus TestCameraFreshSeeds; do printf '%s\n' "$$out" | grep -q -- "--- PASS: $$t " || { echo "test-norace: $$t did not run"; exit 1; }; done

# The scanner's portable kernels (what 32-bit ARM runs, and every other
# architecture without assembly) against the same checks, on this machine:
# kernels.go is the reference the assembly is held to, so it must stay right.
PUREGO_TESTS = ^(TestKernels|TestBlockRowStats|TestDecodeNoAllocs|TestCameraCorpus)$$
test-purego:
	$(GO) vet -tags purego ./scanner/
	$(GO) test -tags purego -count=1 -run '$(PUREGO_TESTS)' ./scanner/

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

demo:
	$(GO) run ./cmd/kioskd demo

# The fault suite (tracker issue 17: no input, server or file makes kioskd
# exhaust memory, loop forever or hang): every TestFault... test, through the
# real binary where the fault is reachable so. FAULT_FLAGS=-short skips the
# slow ones (testing.Short). `make test` runs the suite at its default size
# inside its -race run of ./... . fault-long (KIOSKD_FAULT_LONG=1) grows the
# hostile servers (a never-synced kiosk against an endless one, a
# 1,000-bookmark cycle) and runs each test three times: a fault that shows
# once in three runs is still one.
fault:
	$(GO) test -race -count=1 -run Fault $(FAULT_FLAGS) ./...

fault-long:
	KIOSKD_FAULT_LONG=1 $(GO) test -race -count=3 -timeout 30m -run Fault $(FAULT_FLAGS) ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o kioskd ./cmd/kioskd

# Hardware in the loop: kioskd in QEMU VMs (x86-64, arm64) on real kernel V4L2
# (v4l2loopback) and GPIO (gpio-sim) drivers. Exit 77 = package archive
# unreachable (skipped). See hwtest/README.md.
hwtest:
	hwtest/run.sh

# Release: static (CGO off) binaries for 64-bit Pi OS, 32-bit Pi OS (ARMv6:
# Pi 1/Zero; ARMv7: Pi 2+ on Debian armhf) and x86-64, stamped with the git
# version, then one .deb per binary (packaging/, nfpm) and SHA256SUMS, all in
# dist/. File times in the packages are the commit's, so they are reproducible.
# Simply expanded (:=) so that all four builds and the packages carry one
# version even if a commit lands while `make dist` runs.
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
endif
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
endif
DIST_LDFLAGS = -s -w -X main.version=$(VERSION)
DIST_BUILD = CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '$(DIST_LDFLAGS)'

dist:
	rm -rf dist && mkdir -p dist
	GOARCH=amd64 $(DIST_BUILD) -o dist/kioskd_linux_amd64 ./cmd/kioskd
	GOARCH=arm64 $(DIST_BUILD) -o dist/kioskd_linux_arm64 ./cmd/kioskd
	GOARCH=arm GOARM=7 $(DIST_BUILD) -o dist/kioskd_linux_armv7 ./cmd/kioskd
	GOARCH=arm GOARM=6 $(DIST_BUILD) -o dist/kioskd_linux_armv6 ./cmd/kioskd
	cd packaging && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run . -root .. -dist ../dist -version '$(VERSION)'
	ls -l dist

# The packager is its own module (nfpm stays out of the daemon's go.mod), so
# ./... above does not reach it.
test-packaging:
	cd packaging && $(GO) vet ./... && $(GO) test -count=1 ./...

# The .deb installed, upgraded, removed and purged in a fresh Debian chroot
# (root; exit 77 = archive unreachable, skipped). CI runs it after `test`.
test-install:
	packaging/installtest.sh

# The unit tests on 32-bit ARM (Pi OS armhf, GOARM=7) under qemu-user
# (Debian's qemu-user-static): a 32-bit int overflow passes every amd64 test,
# as the scanner's busy-scene guard did. cmd/kioskd and hwtest build and run
# kioskd binaries of their own, and TestFullDisk, TestHealthRecording and TestDisplaySinkFullDisk re-execute their test binary:
# without binfmt_misc, qemu-user cannot run those children.
ARM_PKGS = $(shell $(GO) list ./... | grep -v -e /cmd/ -e /hwtest)
test-arm:
	GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) test -short -count=1 -exec qemu-arm-static -skip '^(TestFullDisk|TestHealthRecording|TestDisplaySinkFullDisk)$$' $(ARM_PKGS)

# The scanner's NEON kernels (scanner/kernels_arm64.s, the Pi 4/5 on a 64-bit
# OS) under qemu-user (qemu-aarch64-static): bit for bit against the portable
# ones (TestKernels, FuzzKernels' seeds, random widths, guard pages), no
# allocation per empty frame, and the decode-rate gates (the public photos,
# the camera corpus). 5 to 8 minutes on the 2-core CI machine, nearly all of
# it the camera corpus.
# A skip is a failure, as in test-norace.
ARM64_TESTS = TestKernels TestKernelsGuardPages TestKernelsRandom FuzzKernels TestDecodeNoAllocs TestBlackboxRate TestCameraCorpus
.PHONY: test-arm64
test-arm64:
	@out=$$(GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) test -count=1 -v -timeout 30m -exec qemu-aarch64-static -run "^($$(echo $(ARM64_TESTS) | tr ' ' '|'))\$$" ./scanner/ 2>&1); rc=$$?; \
	printf '%s\n' "$$out" | grep -E '^(--- |ok|FAIL|panic)|_test.go:'; \
	if [ $$rc != 0 ]; then exit $$rc; fi; \
	if printf '%s\n' "$$out" | grep -q -- '--- SKIP'; then echo "test-arm64: a test skipped"; exit 1; fi; \
	for t in $(ARM64_TESTS); do printf '%s\n' "$$out" | grep -q -- "--- PASS: $$t " || { echo "test-arm64: $$t did not run"; exit 1; }; done

# The Pi builds compile on every test run, so a 32-bit-only mistake (an
# int32 field, an int64 constant) shows up here rather than at release.
cross:
	GOOS=linux GOARCH=arm GOARM=6 CGO_ENABLED=0 $(GO) build ./...
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./...
