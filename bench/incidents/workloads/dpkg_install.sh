#!/bin/bash
# Benign: a package install and removal through dpkg. No .deb is cached
# here and the machine is offline, so apt-get install --reinstall cannot
# run: this builds a tiny .deb whose maintainer scripts do what real ones
# do (update-alternatives-style probes, a few shell-outs), installs it,
# reinstalls it and removes it.
set -eu
dir=$(mktemp -d); trap 'rm -rf "$dir"; dpkg -r linnix-corpus-tiny >/dev/null 2>&1 || true' EXIT
mkdir -p "$dir/pkg/DEBIAN" "$dir/pkg/usr/share/linnix-corpus-tiny"
for i in $(seq 1 200); do echo "file $i" > "$dir/pkg/usr/share/linnix-corpus-tiny/f$i"; done
cat > "$dir/pkg/DEBIAN/control" <<CTL
Package: linnix-corpus-tiny
Version: 1.0
Architecture: all
Maintainer: corpus <corpus@example.invalid>
Description: tiny package for the incident corpus
CTL
cat > "$dir/pkg/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
for f in /usr/share/linnix-corpus-tiny/f*; do grep -q "file" "$f"; done
for i in 1 2 3 4 5 6 7 8 9 10; do command -v nonexistent-tool-$i >/dev/null 2>&1 || true; done
ldconfig 2>/dev/null || true
SH
cp "$dir/pkg/DEBIAN/postinst" "$dir/pkg/DEBIAN/prerm"
chmod 755 "$dir/pkg/DEBIAN/postinst" "$dir/pkg/DEBIAN/prerm"
dpkg-deb --build "$dir/pkg" "$dir/tiny.deb" >/dev/null
for round in 1 2; do
	timeout "${LIMIT:-300}" dpkg -i "$dir/tiny.deb" >/dev/null
done
timeout "${LIMIT:-300}" dpkg -r linnix-corpus-tiny >/dev/null
