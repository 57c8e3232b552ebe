# ingestd — the two commands the README promises, plus install.
SHELL := /bin/bash
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT_BUILD_FLAGS ?=

.PHONY: deps build release run test bench clean install uninstall

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

release: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)

## Sets up everything and runs the daemon in the foreground on ./drop and ./storage.
run: release
	@mkdir -p drop storage
	.build/release/ingestd --drop ./drop --storage ./storage

## Sets up everything and runs the whole test suite (unit + end-to-end against the built binaries).
test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

clean:
	rm -rf .build
