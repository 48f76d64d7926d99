#!/bin/bash
# Benign: a cold-cache Go build. CI: a few std packages with an empty
# GOCACHE; LINNIX_CORPUS=full: all of std (go build std), as in the issue.
set -eu
cache=$(mktemp -d); trap 'rm -rf "$cache"' EXIT
cd "$cache"
if [ "${LINNIX_CORPUS:-}" = full ]; then pkgs=std; else pkgs="encoding/json net/url text/template"; fi
GOCACHE="$cache/c" GOFLAGS= GO111MODULE=off timeout "${LIMIT:-900}" go build $pkgs
