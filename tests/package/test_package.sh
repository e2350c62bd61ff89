#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_package.sh: builds the Debian package and checks it the way a user meets it, in a fresh
# Debian 12 chroot: apt-get install resolves every dependency, the unit's ExecStart line starts a
# berthd that reports READY (sd_notify) once /healthz answers and runs a task, systemd-analyze
# verify accepts the unit, an upgrade from the previous build keeps state, config and running
# tasks, and purge leaves nothing behind. Prints TAP.
#
# The chroot is made once with debootstrap (minbase) from the mirror apt uses on this host and
# kept as a tarball under BERTH_PKG_CACHE (default /var/cache/berth-test), with the .deb files
# apt downloads into it, so that later runs need neither debootstrap nor downloads.
. "$(dirname "$0")/../integration/lib.sh"

CACHE=${BERTH_PKG_CACHE:-/var/cache/berth-test}
IMAGE=$CACHE/bookworm-minbase.tar.zst
C=
NOTIFY_PID=
LINTIAN_PID=
T0=$SECONDS
phase() { echo "# $(($SECONDS - T0)) s: $*"; }
fail_early() { not_ok "$1"; [ -n "${2:-}" ] && tail -30 "$2" | sed 's/^/  /'; exit 1; }

# --- build -----------------------------------------------------------------------------------
VERSION=$(sed -n 's/^#define BERTH_VERSION "\(.*\)"$/\1/p' "$ROOT/common/version.h")
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
PKG_BUILD=${BERTH_PKG_BUILD:-$ROOT/build}
DEB_VERSION=$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)
DEB=$PKG_BUILD/berth_${DEB_VERSION}_$ARCH.deb
phase "make deb"
make -C "$ROOT" --no-print-directory BUILD="$PKG_BUILD" deb >"$WORK/make-deb.log" 2>&1 ||
	fail_early "make deb builds the package" "$WORK/make-deb.log"
check "make deb leaves berth_${DEB_VERSION}_$ARCH.deb" test -f "$DEB"
check "and the dbgsym package" compgen -G "$PKG_BUILD/berth-dbgsym_${DEB_VERSION}_$ARCH.*deb"
expect_eq "package version is common/version.h's" "$(dpkg-deb -f "$DEB" Version)" "$VERSION"
# lintian runs beside the chroot work; its verdict is collected after the install.
lintian --fail-on error,warning "$PKG_BUILD/deb/berth_${DEB_VERSION}_$ARCH.changes" \
	>"$WORK/lintian.log" 2>&1 &
LINTIAN_PID=$!
# The previous build: the same package one version lower, so that installing $DEB over it is
# a real dpkg upgrade (maintainer scripts called with "upgrade" and the old version).
PREV_VERSION="${DEB_VERSION}~prev1"
rm -rf "$WORK/prev" && dpkg-deb -R "$DEB" "$WORK/prev" &&
	sed -i "s/^Version: .*/Version: $PREV_VERSION/" "$WORK/prev/DEBIAN/control" &&
	dpkg-deb --root-owner-group -Zxz -b "$WORK/prev" "$WORK/berth_${PREV_VERSION}_$ARCH.deb" \
		>/dev/null || fail_early "previous build made"

# --- the chroot --------------------------------------------------------------------------------
mirror_of() { apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
	awk -v r="$1" '$2 == r { print $1; exit }'; }
MIRROR=${BERTH_DEBIAN_MIRROR:-$(mirror_of bookworm)}
MIRROR=${MIRROR:-http://deb.debian.org/debian/}
SECURITY=${BERTH_DEBIAN_SECURITY_MIRROR:-$(mirror_of bookworm-security)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security/}

make_image() {
	local tmp=$CACHE/bootstrap.$$ rc=1
	mkdir -p "$tmp" && mount -t tmpfs -o size=4g,mode=0755 berth-bootstrap "$tmp" || return 1
	if debootstrap --variant=minbase --include=systemd,man-db bookworm "$tmp" "$MIRROR" \
		>"$WORK/debootstrap.log" 2>&1; then
		cat >"$tmp/etc/apt/sources.list" <<-EOF
			deb $MIRROR bookworm main
			deb $MIRROR bookworm-updates main
			deb $SECURITY bookworm-security main
		EOF
		cp /etc/resolv.conf "$tmp/etc/resolv.conf"
		{ chroot "$tmp" apt-get update -q && chroot "$tmp" apt-get clean; } \
			>>"$WORK/debootstrap.log" 2>&1 &&
			tar -C "$tmp" --zstd -cf "$IMAGE.tmp" . && mv "$IMAGE.tmp" "$IMAGE" && rc=0
	fi
	umount -R "$tmp" && rmdir "$tmp"
	return $rc
}

in_chroot() { chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive "$@" </dev/null; }

chroot_up() {
	C=$(mktemp -d "$CACHE/run.XXXXXX")
	# In memory: unpacking, dpkg and the final removal are I/O the disk need not see. A mount
	# point of its own, too, so that pivot_root works for the tasks inside; what is mounted
	# below never propagates back to the host.
	mount -t tmpfs -o size=4g,mode=0755 berth-pkgtest "$C" && mount --make-private "$C" || return 1
	tar -C "$C" --zstd -xf "$IMAGE" || return 1
	# A throw-away system: dpkg need not fsync every file it unpacks.
	echo force-unsafe-io >"$C/etc/dpkg/dpkg.cfg.d/unsafe-io"
	mount -t proc proc "$C/proc" || return 1
	mount --rbind /sys "$C/sys" && mount --make-rslave "$C/sys" || return 1
	mount --rbind /dev "$C/dev" && mount --make-rslave "$C/dev" || return 1
	mkdir -p "$CACHE/archives/partial"
	mount --bind "$CACHE/archives" "$C/var/cache/apt/archives" || return 1
	cp /etc/resolv.conf "$C/etc/resolv.conf"
}

chroot_down() {
	[ -n "$C" ] && [ -d "$C" ] || return 0
	# Tasks left by a failed run die with their cgroups (berth_cleanup removes those).
	umount -R "$C" 2>/dev/null || umount -R -l "$C" 2>/dev/null
	mountpoint -q "$C" || rmdir "$C"
	C=
}

pkg_cleanup() {
	[ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null
	BERTHD_PID=
	[ -n "$NOTIFY_PID" ] && kill "$NOTIFY_PID" 2>/dev/null
	kill "$LINTIAN_PID" 2>/dev/null
	for d in /sys/fs/cgroup/*/"$PARENT" /sys/fs/cgroup/"$PARENT"; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	sleep 0.2
	chroot_down
	berth_cleanup
}
trap pkg_cleanup EXIT

mkdir -p "$CACHE"
phase "chroot image"
exec 9>"$CACHE/lock"
flock 9
if [ ! -f "$IMAGE" ]; then
	echo "# no cached chroot: debootstrap bookworm (minbase) from $MIRROR"
	t=$SECONDS
	make_image || fail_early "debootstrap of a Debian 12 chroot" "$WORK/debootstrap.log"
	echo "# debootstrap and image: $((SECONDS - t)) s"
fi
flock -u 9
chroot_up || fail_early "chroot set up"
ok "Debian 12 chroot ready ($(cat "$C/etc/debian_version"))"

# --- install -----------------------------------------------------------------------------------
phase "install"
cp "$DEB" "$WORK/berth_${PREV_VERSION}_$ARCH.deb" "$C/tmp/"
# The image's package lists age: when an install fails, they are updated and it is tried again.
apt_install() {
	in_chroot apt-get install -y -q "$@" >>"$WORK/apt.log" 2>&1 ||
		{ in_chroot apt-get update -q >>"$WORK/apt.log" 2>&1 &&
			in_chroot apt-get install -y -q "$@" >>"$WORK/apt.log" 2>&1; }
}
if apt_install "/tmp/berth_${PREV_VERSION}_$ARCH.deb"; then
	ok "apt-get install ./berth_*.deb resolves every dependency"
else
	not_ok "apt-get install ./berth_*.deb resolves every dependency"; tail -20 "$WORK/apt.log" | sed 's/^/  /'
	exit 1
fi
expect_eq "installed version" "$(in_chroot dpkg-query -W -f '${Version}' berth)" "$PREV_VERSION"
check "rrdcached (Recommends) installed" in_chroot dpkg-query -W rrdcached
for f in /usr/sbin/berthd /usr/bin/berthctl /usr/lib/berth/berth-warm /etc/berth/berthd.conf /lib/systemd/system/berthd.service \
	/usr/share/man/man8/berthd.8.gz /usr/share/man/man1/berthctl.1.gz \
	/usr/share/man/man5/berthd.conf.5.gz /usr/share/bash-completion/completions/berthctl; do
	check "installs $f" test -f "$C$f"
done
if [ -d "$ROOT/web/static" ]; then
	check "installs the dashboard in /usr/share/berth/web" test -d "$C/usr/share/berth/web"
fi
expect_eq "berthd.conf is a conffile" "$(in_chroot dpkg-query -W -f '${Conffiles}' berth | awk '{print $1}')" \
	/etc/berth/berthd.conf
expect_eq "modes of /var/lib/berth, its state/ and /var/log/berth" \
	"$(stat -c %a "$C/var/lib/berth" "$C/var/lib/berth/state" "$C/var/log/berth" | tr '\n' ' ')" "711 700 750 "
check "postinst generated credentials" grep -q '^aws_secret_access_key = ' "$C/var/lib/berth/state/credentials"
expect_eq "credentials are 0600" "$(stat -c %a "$C/var/lib/berth/state/credentials")" 600
check "berthd --version runs" in_chroot /usr/sbin/berthd --version
check "berthd.conf(5) lists every key berthd knows" bash -c "
	for k in \$(chroot '$C' /usr/sbin/berthd --help | sed -n 's/^  --\([a-z-]*\).*/\1/p' | tr - _); do
		zcat '$C/usr/share/man/man5/berthd.conf.5.gz' | grep -qx \".B \$k\" || { echo \"missing \$k\"; exit 1; }
		grep -Eq \"^#?\$k =( |\$)\" '$C/etc/berth/berthd.conf' || { echo \"conf misses \$k\"; exit 1; }
	done"
if in_chroot systemd-analyze verify berthd.service >"$WORK/verify.log" 2>&1 && [ ! -s "$WORK/verify.log" ]; then
	ok "systemd-analyze verify accepts berthd.service"
else
	not_ok "systemd-analyze verify accepts berthd.service"; sed 's/^/  /' "$WORK/verify.log"
fi
unit=$C/lib/systemd/system/berthd.service
for want in Type=notify Delegate=yes KillMode=process Restart=on-failure; do
	check "berthd.service has $want" grep -qx "$want" "$unit"
done

phase "lintian verdict"
if wait "$LINTIAN_PID"; then
	ok "lintian: no errors, no warnings"
else
	not_ok "lintian: no errors, no warnings"; sed 's/^/  /' "$WORK/lintian.log"
fi
LINTIAN_PID=

# --- run it as the unit does ---------------------------------------------------------------------
PORT=$(free_port)
export ENDPOINT=http://127.0.0.1:$PORT AWS_SHARED_CREDENTIALS_FILE=$C/var/lib/berth/state/credentials
# The operator's edits, which the upgrade must keep: a port and a cgroup parent of this run's own.
sed -i "s/^#listen = .*/listen = 127.0.0.1:$PORT/; s/^#cgroup_parent = .*/cgroup_parent = $PARENT/; \
	s/^#collect_interval = .*/collect_interval = 1/" "$C/etc/berth/berthd.conf"
EXEC=$(sed -n 's/^ExecStart=//p' "$unit")

# systemd's side of Type=notify: a datagram socket that records what berthd sends, and whether
# /healthz already answers when READY=1 arrives.
notify_listen() {
	rm -f "$C/run/berth-notify.sock" "$WORK/notify.log"
	mkdir -p "$C/run"
	python3 - "$C/run/berth-notify.sock" "$WORK/notify.log" "$ENDPOINT/healthz" <<-'PY' &
		import socket, sys, urllib.request
		path, out, url = sys.argv[1:4]
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(path)
		with open(out, "a", buffering=1) as f:
		    f.write("listening\n")
		    while True:
		        for line in s.recv(4096).decode().split("\n"):
		            if not line:
		                continue
		            if line == "READY=1":
		                try:
		                    urllib.request.urlopen(url, timeout=2).read()
		                    line += " healthz=up"
		                except Exception as e:
		                    line += " healthz=down (%s)" % e
		            f.write(line + "\n")
	PY
	NOTIFY_PID=$!
	# A datagram sent before the socket is bound is lost: berthd starts only after this.
	wait_for 60 grep -q listening "$WORK/notify.log"
}
unit_start() {
	notify_listen || { echo "notify socket not ready"; return 1; }
	chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET=/run/berth-notify.sock \
		/bin/sh -c "cd / && exec $EXEC" >>"$WORK/berthd.log" 2>&1 &
	BERTHD_PID=$!
	wait_for 30 grep -q '^READY=1' "$WORK/notify.log"
}
unit_stop() {
	kill -TERM "$BERTHD_PID" 2>/dev/null
	wait "$BERTHD_PID" 2>/dev/null
	BERTHD_PID=
	wait_for 5 grep -q '^STOPPING=1' "$WORK/notify.log"
	kill "$NOTIFY_PID" 2>/dev/null
	wait "$NOTIFY_PID" 2>/dev/null
	NOTIFY_PID=
}
cecs() { in_chroot berthctl --endpoint-url "$ENDPOINT" --output json "$@"; }
ctask_status() { cecs describe-tasks --cluster pkg --tasks "$1" | jget "d['tasks'][0]['lastStatus']"; }
ctask_is() { [ "$(ctask_status "$1")" = "$2" ]; }

phase "start"
check "the unit's ExecStart ($EXEC) sends READY=1" unit_start
check "READY=1 only once /healthz answers" grep -qx 'READY=1 healthz=up' "$WORK/notify.log"
check "berthd answers /healthz" curl -sf "$ENDPOINT/healthz"
check "berthd reads /etc/berth/berthd.conf (data in /var/lib/berth)" \
	grep -q 'data in /var/lib/berth' "$WORK/berthd.log"
if [ -d "$ROOT/web/static" ]; then
	check "the dashboard is served from /usr/share/berth/web" \
		bash -c "curl -sfL '$ENDPOINT/signin' | grep -qi '<html'"
	check "and Chart.js from libjs-chart.js" curl -sf -o /dev/null "$ENDPOINT/javascript/chart.js/chart.min.js"
fi
import_busybox >"$WORK/import.log" 2>&1
check "busybox image imported" grep -q busybox "$WORK/import.log"
cat >"$C/tmp/sleep.json" <<'J'
{"family":"pkg-sleep","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["sh","-c","echo up; sleep 3600"],"stopTimeout":2}]}
J
cecs create-cluster --cluster-name pkg >/dev/null
cecs register-task-definition --cli-input-json file:///tmp/sleep.json >/dev/null
TASK=$(cecs run-task --cluster pkg --task-definition pkg-sleep | jget "d['tasks'][0]['taskArn']")
check "installed berthctl runs a task: RUNNING" wait_for 20 ctask_is "$TASK" RUNNING
task_pid() { rest GET /v1/tasks | jget "[t['containers'][0].get('pid') for t in d['tasks'] if t['taskArn'] == '$1'][0]"; }
PID=$(task_pid "$TASK")
check "the task's process is alive" kill -0 "$PID"
check "task output in /var/log/berth/tasks" wait_for 10 bash -c "grep -rqs '^up' '$C/var/log/berth/tasks'"
CREDS_SUM=$(sha256sum <"$C/var/lib/berth/state/credentials")

# --- upgrade ---------------------------------------------------------------------------------------
phase "upgrade"
unit_stop
check "STOPPING=1 on SIGTERM" grep -q '^STOPPING=1' "$WORK/notify.log"
check "the task outlives the daemon (KillMode=process)" kill -0 "$PID"
if apt_install "/tmp/berth_${DEB_VERSION}_$ARCH.deb"; then
	ok "upgrade from $PREV_VERSION to $DEB_VERSION without prompts"
else
	not_ok "upgrade from $PREV_VERSION to $DEB_VERSION without prompts"; tail -20 "$WORK/apt.log" | sed 's/^/  /'
fi
expect_eq "upgraded version" "$(in_chroot dpkg-query -W -f '${Version}' berth)" "$DEB_VERSION"
check "upgrade keeps the operator's berthd.conf" grep -qx "listen = 127.0.0.1:$PORT" "$C/etc/berth/berthd.conf"
check "no .dpkg-new/.dpkg-dist next to it" bash -c "! compgen -G '$C/etc/berth/*.dpkg-*'"
expect_eq "upgrade keeps the credentials" "$(sha256sum <"$C/var/lib/berth/state/credentials")" "$CREDS_SUM"
check "upgraded berthd starts (READY=1)" unit_start
check "state kept: the task is still RUNNING" ctask_is "$TASK" RUNNING
expect_eq "and is the same process, adopted" "$(task_pid "$TASK")" "$PID"
check "state kept: cluster pkg" bash -c "chroot '$C' berthctl --endpoint-url '$ENDPOINT' describe-clusters --clusters pkg | grep -q '\"ACTIVE\"'"

# --- purge -----------------------------------------------------------------------------------------
phase "purge"
unit_stop
if in_chroot apt-get purge -y -q berth >>"$WORK/apt.log" 2>&1; then
	ok "apt-get purge berth"
else
	not_ok "apt-get purge berth"; tail -20 "$WORK/apt.log" | sed 's/^/  /'
fi
expect_eq "package gone from dpkg" "$(in_chroot dpkg-query -W -f '${db:Status-Abbrev}' berth 2>/dev/null)" ""
for d in /var/lib/berth /var/log/berth /etc/berth; do
	check "purge removes $d" test ! -e "$C$d"
done
check "removal stopped the task" wait_for 10 bash -c "! kill -0 $PID"
check "and removed its cgroups" bash -c "! compgen -G '/sys/fs/cgroup/*/$PARENT' && test ! -e /sys/fs/cgroup/$PARENT"
check "no mount left below /var/lib/berth" bash -c "! grep -q ' $C/var/lib/berth' /proc/self/mountinfo"
# Not counted: the test's own files in /tmp and /run, apt's download cache, and man-db's cache
# of formatted pages (systemd-analyze verify ran man; man-db expires its cache itself).
left=$(find "$C" -xdev \( -path "$C/tmp" -o -path "$C/var/cache/apt" -o -path "$C/var/cache/man" \) -prune -o \
	-iname '*berth*' -print | grep -v "^$C/run/berth-notify.sock$")
expect_eq "no file named berth* left anywhere" "$left" ""
phase "done"
exit "$T_FAILED"
