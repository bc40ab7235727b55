#!/usr/bin/env bash
# Installs kioskd's amd64 .deb into a fresh Debian bookworm root (debootstrap
# minbase) and checks what an operator relies on: the system user and its
# groups, the files, the credentials folder, a site edit of the config kept
# across an upgrade, "remove" keeping the state and "purge" deleting it.
# The chroot has no running systemd, so the scripts' systemctl branch is not
# taken here (systemd/unit_test.go checks the unit itself).
#
# Needs root. Exit 0 passed, 1 failed, 77 skipped (not root, or the Debian
# archive could not be reached), like hwtest/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[installtest %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { printf '[installtest] FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf '!!! installtest SKIPPED: %s !!!\n' "$*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (dpkg in a chroot)"
mirror=${INSTALLTEST_MIRROR:-http://deb.debian.org/debian}
cache=packaging/.cache
mkdir -p "$cache"

if ! command -v debootstrap >/dev/null; then
	log "apt-get install debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
		skip "debootstrap could not be installed"
fi

# The base root is built once and copied for each run.
base=$cache/rootfs-bookworm
if [ ! -e "$base/.complete" ]; then
	log "debootstrap bookworm (minbase) into $base"
	rm -rf "$base"
	if ! debootstrap --variant=minbase --include=adduser bookworm "$base" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -5 "$cache/debootstrap.log" >&2
		if grep -qiE 'Failed getting release file|Couldn.t download|Could not resolve|Connection (refused|timed out)' "$cache/debootstrap.log"; then
			skip "the Debian archive ($mirror) could not be reached"
		fi
		fail "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	touch "$base/.complete"
fi

work=$(mktemp -d /tmp/kioskd-installtest.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
cp -a "$base" "$root"

# Two versions of the package, as for an upgrade.
for v in v1.0.0 v1.0.1; do
	d=$work/dist-$v
	mkdir -p "$d"
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w -X main.version=$v" \
		-o "$d/kioskd_linux_amd64" ./cmd/kioskd
	(cd packaging && SOURCE_DATE_EPOCH=1700000000 go run . -root .. -dist "$d" -version "$v" -targets amd64) >/dev/null
	cp "$d"/kioskd_*_amd64.deb "$root/tmp/kioskd-$v.deb"
done

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
check() { # check "what" command...
	local what=$1
	shift
	if "$@"; then
		log "ok: $what"
	else
		fail "$what"
	fi
}

log "dpkg -i kioskd v1.0.0"
in_root dpkg -i /tmp/kioskd-v1.0.0.deb >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i"; }
check "kioskd version says v1.0.0" sh -c "chroot '$root' /usr/bin/kioskd version | grep -qx 'kioskd v1.0.0'"
check "system user kioskd, no login shell" sh -c "chroot '$root' getent passwd kioskd | grep -q ':/usr/sbin/nologin\$'"
check "kioskd is in the video, gpio, input and dialout groups" sh -c "g=\$(chroot '$root' id -nG kioskd); for w in video gpio input dialout; do echo \" \$g \" | grep -q \" \$w \" || exit 1; done"
check "the unit is installed" test -s "$root/lib/systemd/system/kioskd.service"
check "the default config is a conffile" sh -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' kioskd | grep -q '/etc/kioskd/kioskd.yaml'"
check "/etc/kioskd/credentials is root's alone (0700)" sh -c "[ \"\$(stat -c '%a %U' '$root/etc/kioskd/credentials')\" = '700 root' ]"
# The shipped config must parse: `kioskd status` reads it and the (empty)
# state folder without a daemon or secrets.
mkdir -p "$root/var/lib/kioskd"
check "kioskd status reads the shipped config" sh -c "chroot '$root' /usr/bin/kioskd status -config /etc/kioskd/kioskd.yaml >'$work/status.txt' 2>&1"

# What an operator adds: a site edit, secrets, a cache.
echo "# site edit: door 3" >>"$root/etc/kioskd/kioskd.yaml"
echo "secret" >"$root/etc/kioskd/credentials/api_key"
echo "cache" >"$root/var/lib/kioskd/marker"

log "upgrade to v1.0.1"
in_root dpkg -i /tmp/kioskd-v1.0.1.deb >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; fail "upgrade"; }
check "kioskd version says v1.0.1" sh -c "chroot '$root' /usr/bin/kioskd version | grep -qx 'kioskd v1.0.1'"
check "the site edit survived the upgrade" grep -q "site edit: door 3" "$root/etc/kioskd/kioskd.yaml"
check "the secrets and the cache survived the upgrade" test -s "$root/etc/kioskd/credentials/api_key" -a -s "$root/var/lib/kioskd/marker"

log "dpkg -r kioskd"
in_root dpkg -r kioskd >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "dpkg -r"; }
check "remove: the binary is gone" test ! -e "$root/usr/bin/kioskd"
check "remove: config, secrets and cache are kept" test -s "$root/etc/kioskd/kioskd.yaml" -a -s "$root/etc/kioskd/credentials/api_key" -a -s "$root/var/lib/kioskd/marker"

log "dpkg -P kioskd"
in_root dpkg -P kioskd >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg -P"; }
check "purge: cache, secrets and config are gone" test ! -e "$root/var/lib/kioskd" -a ! -e "$root/etc/kioskd/credentials" -a ! -e "$root/etc/kioskd/kioskd.yaml"

log "passed"
