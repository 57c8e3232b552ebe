# ingestd — the two commands the README promises, plus install.
SHELL := /bin/bash
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT_BUILD_FLAGS ?=

.PHONY: deps build release run test lint format bench clean install uninstall

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

## Sets up everything and runs the whole test suite (unit + end-to-end against the built binaries), after the
## formatting check.
test: deps lint
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

## The formatting rules of .swift-format (swift-nio's, see the file), checked strictly; `make format` applies them.
lint:
	swift format lint --strict --parallel -r Sources Tests Package.swift

format:
	swift format format -i --parallel -r Sources Tests Package.swift

clean:
	rm -rf .build

## Installation layout. PREFIX=/usr/local puts units in /usr/local/lib/systemd/system, sysusers.d and tmpfiles.d
## entries in /usr/local/lib/{sysusers,tmpfiles}.d: systemd searches all three below /usr/local as well as /usr.
## The units name $(PREFIX)/bin/ingestd (rendered from /usr/local at install time). DESTDIR stages everything.
BUILD_DIR ?= .build/release
SYSCONFDIR ?= /etc
BINDIR = $(PREFIX)/bin
UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
DOCDIR = $(PREFIX)/share/doc/ingestd
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
UNITS = ingestd.service ingestd.socket

## Installs the release binaries (run `make release` first), units, sysusers/tmpfiles entries, shell completions,
## docs, and config/ingestd.env as $(SYSCONFDIR)/ingestd/ingestd.env unless that file exists. Without DESTDIR
## on a running systemd it also creates the user and directories and reloads systemd; it enables nothing.
install:
	@for b in ingestd ingestctl; do \
	  [ -x "$(BUILD_DIR)/$$b" ] || { echo "make install: $(BUILD_DIR)/$$b is missing; run 'make release' first" >&2; exit 1; }; \
	done
	@[ -f config/ingestd.env ] || { echo "make install: config/ingestd.env is missing" >&2; exit 1; }
	install -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" \
	  "$(DESTDIR)$(TMPFILESDIR)" "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" \
	  "$(DESTDIR)$(FISHCOMPDIR)" "$(DESTDIR)$(SYSCONFDIR)/ingestd"
	install -m 0755 "$(BUILD_DIR)/ingestd" "$(BUILD_DIR)/ingestctl" "$(DESTDIR)$(BINDIR)/"
	for u in $(UNITS); do \
	  sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|/etc/ingestd/|$(SYSCONFDIR)/ingestd/|g' "systemd/$$u" > "$(DESTDIR)$(UNITDIR)/$$u.tmp" \
	    && chmod 0644 "$(DESTDIR)$(UNITDIR)/$$u.tmp" && mv "$(DESTDIR)$(UNITDIR)/$$u.tmp" "$(DESTDIR)$(UNITDIR)/$$u" || exit 1; \
	done
	install -m 0644 systemd/ingestd.sysusers "$(DESTDIR)$(SYSUSERSDIR)/ingestd.conf"
	install -m 0644 systemd/ingestd.tmpfiles "$(DESTDIR)$(TMPFILESDIR)/ingestd.conf"
	install -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"
	"$(BUILD_DIR)/ingestctl" --generate-completion-script bash > "$(DESTDIR)$(BASHCOMPDIR)/ingestctl"
	"$(BUILD_DIR)/ingestctl" --generate-completion-script zsh > "$(DESTDIR)$(ZSHCOMPDIR)/_ingestctl"
	"$(BUILD_DIR)/ingestctl" --generate-completion-script fish > "$(DESTDIR)$(FISHCOMPDIR)/ingestctl.fish"
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/ingestd/ingestd.env" ]; then \
	  echo "kept the existing $(DESTDIR)$(SYSCONFDIR)/ingestd/ingestd.env"; \
	else \
	  echo "install -m 0644 config/ingestd.env $(DESTDIR)$(SYSCONFDIR)/ingestd/ingestd.env"; \
	  install -m 0644 config/ingestd.env "$(DESTDIR)$(SYSCONFDIR)/ingestd/ingestd.env"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  set -x; \
	  systemd-sysusers "$(SYSUSERSDIR)/ingestd.conf" && \
	  systemd-tmpfiles --create "$(TMPFILESDIR)/ingestd.conf" && \
	  chgrp ingestd "$(SYSCONFDIR)/ingestd/ingestd.env" && chmod 0640 "$(SYSCONFDIR)/ingestd/ingestd.env" && \
	  systemctl daemon-reload; \
	  set +x; \
	  echo "Next: systemctl enable --now ingestd.socket ingestd.service"; \
	fi

## Removes what `install` put there, except $(SYSCONFDIR)/ingestd (configuration) and /var/lib/ingestd (data).
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  echo "systemctl disable --now ingestd.service ingestd.socket"; \
	  systemctl disable --now ingestd.service ingestd.socket 2>/dev/null || true; \
	fi
	rm -f "$(DESTDIR)$(BINDIR)/ingestd" "$(DESTDIR)$(BINDIR)/ingestctl"
	for u in $(UNITS); do rm -f "$(DESTDIR)$(UNITDIR)/$$u"; done
	rm -f "$(DESTDIR)$(SYSUSERSDIR)/ingestd.conf" "$(DESTDIR)$(TMPFILESDIR)/ingestd.conf"
	rm -f "$(DESTDIR)$(BASHCOMPDIR)/ingestctl" "$(DESTDIR)$(ZSHCOMPDIR)/_ingestctl" "$(DESTDIR)$(FISHCOMPDIR)/ingestctl.fish"
	rm -f "$(DESTDIR)$(DOCDIR)/README.md"
	-rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/ingestd and /var/lib/ingestd (configuration and data); remove them by hand"
