# Developer entry points. `make help` lists the targets; others add theirs in the sections below.

SHELL := /usr/bin/env bash
# A pipeline fails when any of its commands fails (a filtered go test must not hide a failure).
.SHELLFLAGS := -o pipefail -c
GO ?= go
# Packages to vet, test and benchmark.
PKGS ?= ./...
# Bound for the whole test run (integration tests start real Pushpin, DynamoDB Local, RIE, Chromium).
TEST_TIMEOUT ?= 15m
# Extra go test flags, e.g. TESTFLAGS='-run TestPushpin' or TESTFLAGS=-short (unit tests only).
TESTFLAGS ?=
# The race detector is on for make test (and so for CI); RACE= turns it off for a quicker local run.
RACE ?= -race

.DEFAULT_GOAL := help

## ---- install what the tests and `make dev` need ---------------------------------------------------

.PHONY: deps
deps: ## Install Pushpin, Chromium, Java, DynamoDB Local and the Lambda RIE (idempotent, fast when present).
	scripts/deps.sh

.PHONY: deps-dev
deps-dev: ## What `make dev` needs: all of deps but Chromium and the race detector's C toolchain.
	DEPS_BROWSER=0 DEPS_RACE=0 scripts/deps.sh

## ---- format, vet and test ------------------------------------------------------------------------

.PHONY: fmt
fmt: ## Format the Go code in place.
	gofmt -w $$(git ls-files --cached --others --exclude-standard '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet $(PKGS)

.PHONY: test
test: deps vet ## Vet, then run every test (unit and integration) once, uncached, with -race; a skip fails it; ends with a summary line.
	scripts/gotest.sh -count=1 $(RACE) -timeout $(TEST_TIMEOUT) $(TESTFLAGS) $(PKGS)

## ---- fuzzing and recovery (tools/cmd/recovery, *_fuzz_test.go, testdata/fuzz) ----------------------

# Every parser's fuzz target, package:Target. Their seed corpora are in each package's testdata/fuzz
# (plain `go test` runs them as regression cases); `make fuzz` explores beyond them for FUZZTIME each.
FUZZ_TARGETS ?= ./internal/sse:FuzzEncodeRoundTrip ./internal/sse:FuzzEncode ./internal/sse:FuzzAppendRetry \
	./internal/grip:FuzzParseLast ./internal/grip:FuzzParseGripURL ./internal/grip:FuzzVerify ./internal/grip:FuzzConfigFromEnv \
	./internal/config:FuzzLoad ./internal/handler:FuzzReadSendBody ./internal/handler:FuzzParseEventID \
	./internal/handler:FuzzFindLoneSurrogate ./tools/apigw:FuzzRouteMatch
FUZZTIME ?= 10s
# Flags for tools/cmd/recovery, e.g. RECOVERYFLAGS='-env LINK_TIMEOUT=60 -parts single,idle'.
RECOVERYFLAGS ?=

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 10s), one after the other; CI runs it with FUZZTIME=20000x (executions).
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) $${t%%:*} | grep -v '^fuzz: elapsed' || exit 1; \
	done

.PHONY: bench-recovery
bench-recovery: deps-dev ## Recovery on the local stack: dropped publishes, a listener far behind, idle next-link calls (~4 min).
	$(GO) run ./tools/cmd/recovery $(RECOVERYFLAGS)

## ---- benchmarks: go test benchmarks and the end-to-end one (tools/cmd/bench, docs/benchmarks.md) ----

# Packages whose go test benchmarks `make bench` runs (the default includes the DynamoDB Local and
# start-up benchmarks); BENCH_PKGS='./internal/sse ./internal/chat ./internal/handler ./internal/grip'
# runs only the in-process ones. BENCHCOUNT=6 gives benchstat enough samples.
BENCH_PKGS ?= $(PKGS)
BENCHCOUNT ?= 1
# Flags for tools/cmd/bench, e.g. BENCHFLAGS='-listeners 1,10,100 -messages 20 -skip-cold'.
BENCHFLAGS ?=

.PHONY: bench
bench: deps ## Run the go test benchmarks (-benchmem), then the end-to-end benchmark (bench-e2e).
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCHCOUNT) $(BENCH_PKGS)
	$(MAKE) --no-print-directory bench-e2e

.PHONY: bench-e2e
bench-e2e: deps ## End to end on the local stack: fan-out to 1..1000 SSE listeners against the floor, throughput at 1/8/64, DynamoDB per route, reads, cold starts, sizes; writes test-output/bench.md.
	$(GO) build -o bin/bench ./tools/cmd/bench
	bin/bench $(BENCHFLAGS)

# Flags for the cost workload, e.g. COSTFLAGS='-fanout-message-price 0.5 -cost-listeners 1,100'.
COSTFLAGS ?=

.PHONY: cost
cost: deps-dev ## Count what messages and idle listeners (plain and the page's live streams) make the origin do on the local stack, price it (AWS, Fanout, the WebSocket sample, AppSync); writes docs/cost.md.
	$(GO) build -o bin/bench ./tools/cmd/bench
	bin/bench -cost-out docs/cost.md -log test-output/cost-stack.log $(COSTFLAGS)

## ---- build the Lambda functions (linux/arm64 bootstraps, as `sam build`) ---------------------------

# `sam build` runs build-<LogicalId> for every function with BuildMethod: makefile and ARTIFACTS_DIR
# set (in the checkout: samconfig.toml's build_in_source, so nothing is copied per function); run by
# hand, each target writes .aws-sam/build/<LogicalId>/bootstrap and `make build` then writes
# .aws-sam/build/template.yaml with CodeUri pointing there (tools/cmd/samtemplate): the layout
# `sam build` leaves, so `sam deploy` after `make build` deploys the same bootstraps.
BUILD_DIR ?= .aws-sam/build
ARTIFACTS_DIR ?= $(BUILD_DIR)/$(patsubst build-%,%,$@)
# The functions are template.yaml's AWS::Serverless::Function resources (the one list; tools/stack,
# tools/cmd/bench and the template test read it too); <Name>Function is built from ./functions/<name>.
LAMBDA_FUNCTIONS := $(shell awk '/^Resources:/{r=1} r && /^  [A-Za-z0-9]+:/{id=$$1} r && /Type: AWS::Serverless::Function/{sub(":","",id); print id}' template.yaml)

# build-<LogicalId>: what `sam build` runs for a function with BuildMethod: makefile.
define build-function
.PHONY: build-$(1)
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $$(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo '$(1:Function=)' | tr A-Z a-z)
endef
$(foreach fn,$(LAMBDA_FUNCTIONS),$(eval $(call build-function,$(fn))))

.PHONY: build
build: $(addprefix build-,$(LAMBDA_FUNCTIONS)) ## Build every function's linux/arm64 bootstrap and the built template into .aws-sam/build/ (as `sam build` does).
	$(GO) run ./tools/cmd/samtemplate -template template.yaml -build-dir $(BUILD_DIR)

.PHONY: smoke
smoke: ## Check a deployment end to end as the edge uses it: make smoke URL=https://<edge host> KEY=<api key>
	@test -n "$(URL)" -a -n "$(KEY)" || { echo 'usage: make smoke URL=https://<edge host> KEY=<api key> (README: Deploy)' >&2; exit 2; }
	$(GO) run ./tools/cmd/smoke -url '$(URL)' -key '$(KEY)'

.PHONY: sizes
sizes: build ## Print each bootstrap's size, raw and gzipped (about what the deployment zip weighs).
	@for f in $(LAMBDA_FUNCTIONS); do \
		b=$(BUILD_DIR)/$$f/bootstrap; \
		printf '  %-16s %6d KiB  (gzip %5d KiB)\n' $$f $$(( $$(stat -c %s $$b) / 1024 )) $$(( $$(gzip -9c $$b | wc -c) / 1024 )); \
	done

## ---- browser screenshots for the docs ---------------------------------------------------------------

.PHONY: screenshots
screenshots: deps ## Run the browser tests' screenshot step; writes test-output/room-{desktop,phone}.png.
	$(GO) test -count=1 -run 'TestScreenshots' ./tests/e2e/
	cp test-output/room-desktop.png docs/screenshot-desktop.png

## ---- run the chat locally: the whole stack, one function under the RIE, SAM (tools/stack, tools/cmd/devstack)

# The stack is tools/stack (also started by the browser and integration tests); tools/cmd/devstack is
# its command line. Flags, e.g. DEVFLAGS=-bootstrap (real bootstraps under the Lambda RIE) or
# DEVFLAGS='-pushpin-port 8999'. Settings come from the environment: API_KEYS, ADMIN_KEY, GRIP_SIG_KEY,
# and ROOMS, TABLE_NAME, LINK_TIMEOUT, PROFANITY_FILTER, LOG_LEVEL, RETENTION_DAYS (over dev/env.json).
DEVFLAGS ?=

.PHONY: dev
dev: deps-dev ## The whole chat at http://localhost:7999 (Pushpin, edge stand-in, API emulator, DynamoDB Local). Ctrl-C stops all.
	$(GO) build -o bin/devstack ./tools/cmd/devstack
	exec bin/devstack $(DEVFLAGS)

.PHONY: invoke
invoke: deps-dev ## One function's real bootstrap under the Lambda RIE with an event: make invoke FN=send EVENT=event.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo 'usage: make invoke FN=send|history|stream|web EVENT=path/to/event.json' >&2; exit 2; }
	$(GO) build -o bin/devstack ./tools/cmd/devstack
	exec bin/devstack invoke -fn $(FN) -event $(EVENT) $(DEVFLAGS)

.PHONY: sam-local
sam-local: deps-dev ## With Docker + SAM CLI: sam build && sam local start-api on :3000, with DynamoDB Local, edge and Pushpin around it.
	$(GO) build -o bin/devstack ./tools/cmd/devstack
	exec bin/devstack sam-local $(DEVFLAGS)

## ---- soak and fault runs (tools/cmd/soak, docs/soak.md) ---------------------------------------------

# Flags for tools/cmd/soak, e.g. SOAKFLAGS='-duration 10m -listeners 500', SOAKFLAGS='-mode storm
# -listeners 2000' or SOAKFLAGS='-mode contention -writers 20 -duration 60s'; bin/soak -h lists them.
SOAKFLAGS ?=
# The small run CI makes: about a minute, every fault once.
SOAK_CI_FLAGS ?= -duration 30s -listeners 30 -senders 2 -rate 2 -burst 10 -burst-every 10s -drop-every 10s \
	-drain 60s -out test-output/soak-ci.md -log test-output/soak-ci-stack.log

.PHONY: soak
soak: deps-dev ## Soak and fault run on the local stack (listeners, senders, bursts, a faulty publish relay, Pushpin and DynamoDB Local dying); fails on a lost, duplicated or out-of-order event.
	$(GO) build -o bin/soak ./tools/cmd/soak
	bin/soak $(SOAKFLAGS)

.PHONY: soak-ci
soak-ci: ## The small soak run of CI (about a minute).
	$(MAKE) --no-print-directory soak SOAKFLAGS='$(SOAK_CI_FLAGS)'

## ---- help ---------------------------------------------------------------------------------------

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
