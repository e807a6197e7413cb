# The Makefile mirrors CI (.ci/run). `make test` is the README's test command.

# Core packages run under the race detector; the rest (end-to-end, CLI) run without it,
# which keeps the whole suite well inside CI's time on two cores.
CORE := /internal/(keyward|seal|audit|service|store|httpapi|kcrypto|jobs|akvemu|azure)(/|$$)

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0

.PHONY: test check fmt vet race unit lint vuln tidy build

test: fmt vet race unit

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

race:
	go test -race -timeout 15m $$(go list ./... | grep -E '$(CORE)')

unit:
	go test -timeout 15m $$(go list ./... | grep -v -E '$(CORE)')

lint:
	go run $(STATICCHECK) ./...

vuln:
	./.ci/govulncheck $(GOVULNCHECK)

tidy:
	go mod tidy
	git diff --exit-code go.mod go.sum

check: test lint vuln tidy

build:
	go build -o bin/keyward ./cmd/keyward
