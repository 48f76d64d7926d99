#!/bin/sh
# Runs the incident corpus and prints the scorer's table. As root, on a
# kernel with BTF. LINNIX_CORPUS=full runs the full-size benign builds.
cd "$(dirname "$0")/../.." && exec go test -count=1 -timeout 60m -v -run '^TestIncidentCorpus$' ./bench/incidents/ "$@"
