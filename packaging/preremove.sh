#!/bin/sh
# Before removal (deb: prerm remove; rpm: %preun with $1 = 0, the last copy
# going away). An upgrade (deb: prerm upgrade; rpm: $1 = 1) keeps it running.
set -e

case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now otelcol-linnix.service || true
	fi
	;;
esac
exit 0
