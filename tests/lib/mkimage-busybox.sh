#!/bin/sh
# SPDX-License-Identifier: MIT
# mkimage-busybox.sh: builds a minimal busybox rootfs directory (tests and the demo import it).
# Usage: mkimage-busybox.sh DIR    (needs Debian's busybox-static: /bin/busybox)
set -eu

BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1

if [ ! -x "$BUSYBOX" ]; then
	echo "$0: $BUSYBOX not found (apt-get install busybox-static)" >&2
	exit 1
fi
# A dynamically linked busybox would need the host's libc inside the image.
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
	echo "$0: $BUSYBOX is not statically linked (install busybox-static)" >&2
	exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin etc proc sys dev root tmp
chmod 0755 bin etc dev
chmod 0555 proc sys
chmod 0700 root
chmod 1777 tmp

cp "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] && continue
	ln -sf busybox "bin/$applet"
done

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
chmod 0644 etc/passwd etc/group
