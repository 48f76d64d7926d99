#!/bin/sh
# After install or upgrade (deb: postinst configure; rpm: %post).
# Creates the otelcol-linnix system user the unit runs as, and tells systemd
# about the unit where systemd runs (not in most containers).
set -e

user=otelcol-linnix

if ! getent group "$user" >/dev/null; then
	groupadd --system "$user"
fi
if ! getent passwd "$user" >/dev/null; then
	nologin=$(command -v nologin || echo /bin/false)
	useradd --system --gid "$user" --home-dir /var/lib/otelcol-linnix --no-create-home \
		--shell "$nologin" --comment "otelcol-linnix collector" "$user"
fi

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	# An upgrade restarts a running collector on the new binary; a first
	# install leaves starting it to the operator (systemctl enable --now).
	systemctl try-restart otelcol-linnix.service || true
fi
exit 0
