#!/bin/sh
# After removal (deb: postrm; rpm: %postun).
# deb purge deletes what the package created at run time: the state
# directory (events file, queue) and the system user. rpm has no purge:
# following Fedora's policy the user stays, so that files it owns never
# pass to a later user given the same id.
set -e

case "$1" in
purge)
	rm -rf /var/lib/otelcol-linnix
	if getent passwd otelcol-linnix >/dev/null; then
		userdel otelcol-linnix || true
	fi
	if getent group otelcol-linnix >/dev/null; then
		groupdel otelcol-linnix || true
	fi
	;;
esac

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
