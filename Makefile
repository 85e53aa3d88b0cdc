# voxgate: two commands do everything on a fresh Debian machine.
#   make run    install what is missing, build, start the gateway (dev key printed once)
#   make test   install what the tests need, run vet, staticcheck, every test, the fuzzers

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages to build and run: cgo toolchain, the Opus library, pocketsphinx and its en-us model,
# Apertium with English↔Spanish, libflite.
RUN_PACKAGES  := gcc libc6-dev pkg-config libopus-dev libopusfile-dev libmp3lame-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us apertium apertium-eng-spa flite1-dev libespeak-ng-dev espeak-ng-data curl jq ca-certificates
# Packages the tests add: PostgreSQL server, audio tools for codec and recording checks (pocketsphinx_continuous
# and flite for speech),
# and the real peers: Chromium (WebRTC), SIPp, baresip and kamailio (SIP), sipvicious (a scanner). Node.js and npm
# (for examples/node-bot, a Twilio-protocol bot) are added when missing.
TEST_PACKAGES := $(RUN_PACKAGES) postgresql sox libsox-fmt-all opus-tools mpg123 pocketsphinx flite chromium chromium-driver sip-tester baresip-core kamailio sipvicious redis-server

.PHONY: run build test deps deps-test fuzz bench bench-load narrowband-model clean

run: deps build
	./bin/voxgate serve --dev-key --log-format console --transcription-narrowband-model models/en-us-8k $(ARGS)

build:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed (https://go.dev/dl): not found in PATH" >&2; exit 1; }
	$(GO) build -o bin/voxgate ./cmd/voxgate

deps:
	@scripts/apt-ensure.sh $(RUN_PACKAGES)

deps-test:
	@scripts/apt-ensure.sh $(TEST_PACKAGES)
	@command -v node >/dev/null || scripts/apt-ensure.sh nodejs
	@command -v npm >/dev/null || scripts/apt-ensure.sh npm
	@test -d examples/node-bot/node_modules/ws || npm ci --no-audit --no-fund --prefix examples/node-bot
	@command -v staticcheck >/dev/null || test -x "$$($(GO) env GOPATH)/bin/staticcheck" || $(GO) install $(STATICCHECK)

test: deps-test
	scripts/test.sh

fuzz: deps-test
	scripts/fuzz.sh $(or $(FUZZTIME),2m)

bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# A standard load ramp against a local gateway (voxgate loadgen); updates BENCHMARKS.md.
bench-load: deps
	scripts/bench-load.sh

# Rebuilds the committed telephone adaptation of the en-us model (models/en-us-8k) with sphinxtrain.
narrowband-model: deps
	@scripts/apt-ensure.sh sphinxtrain sphinxbase-utils flite espeak-ng sox
	scripts/narrowband-model.sh models/en-us-8k

clean:
	rm -rf bin
