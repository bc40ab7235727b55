# kioskd developer targets. The README's two commands are `go run ./cmd/kioskd demo`
# and `make test`.

GO ?= go
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test demo vet staticcheck build hwtest

# The tests, exactly as CI runs them: vet, staticcheck, then every test under -race.
test: vet staticcheck
	$(GO) test -race -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

demo:
	$(GO) run ./cmd/kioskd demo

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o kioskd ./cmd/kioskd

# Hardware in the loop: kioskd in QEMU VMs (x86-64, arm64) on real kernel V4L2
# (v4l2loopback) and GPIO (gpio-sim) drivers. Exit 77 = package archive
# unreachable (skipped). See hwtest/README.md.
hwtest:
	hwtest/run.sh
