#!/bin/sh
# SPDX-License-Identifier: MIT
# gen-config.sh: writes the installed berthd.conf, or the key list of berthd.conf(5), from the
# key table berthd prints with --help, so neither can drift from the daemon.
#   gen-config.sh conf BERTHD [KEY=VALUE]...   commented defaults; the KEY=VALUEs set, uncommented
#                                              (?KEY=VALUE: only when berthd has that key)
#   gen-config.sh man BERTHD <TEMPLATE         TEMPLATE with its @KEYS@ line replaced
set -eu
mode=$1 berthd=$2
shift 2

# One "key<TAB>meaning<TAB>default" line per key; the meaning may itself hold parentheses, so
# the default is what follows the last " (default: ".
keys() {
	"$berthd" --help | sed -n 's/^  --\([a-z0-9-]*\) *\(.*\) (default: \(.*\))$/\1\t\2\t\3/p' |
		awk -F'\t' 'BEGIN { OFS = "\t" } { gsub(/-/, "_", $1); if ($3 == "-") $3 = ""; print }'
}

n=$(keys | wc -l)
if [ "$n" -lt 5 ]; then
	echo "gen-config.sh: '$berthd --help' listed $n keys; expected the whole key table" >&2
	exit 1
fi

case $mode in
conf)
	known=$(keys | cut -f1)
	for kv in "$@"; do
		shift
		case $kv in
		\?*) kv=${kv#\?}; printf '%s\n' "$known" | grep -qx "${kv%%=*}" || continue ;;
		*) printf '%s\n' "$known" | grep -qx "${kv%%=*}" ||
			{ echo "gen-config.sh: '${kv%%=*}' is not a berthd key" >&2; exit 1; } ;;
		esac
		set -- "$@" "$kv"
	done
	cat <<'HEAD'
# berthd.conf: configuration of berthd, the berth daemon; see berthd.conf(5).
#
# "key = value" lines; '#' and ';' start comments. Every key is listed below with its built-in
# default, commented out: uncomment a line and change it to override the default. The same
# keys are flags of berthd (--data-dir for data_dir), which win over this file.
# After a change: systemctl restart berthd (running tasks keep running).
HEAD
	keys | while IFS="$(printf '\t')" read -r key meaning def; do
		line="#$key = $def"
		for kv in "$@"; do
			[ "${kv%%=*}" = "$key" ] && line="$key = ${kv#*=}"
		done
		printf '\n# %s\n%s\n' "$meaning" "${line% }"
	done
	;;
man)
	while IFS= read -r l; do
		if [ "$l" = "@KEYS@" ]; then
			keys | while IFS="$(printf '\t')" read -r key meaning def; do
				meaning=$(printf '%s' "$meaning" | sed 's/\\/\\e/g; s/-/\\-/g')
				def=$(printf '%s' "$def" | sed 's/\\/\\e/g; s/-/\\-/g')
				printf '.TP\n.B %s\n%s.\n' "$key" "$meaning"
				if [ -n "$def" ]; then
					printf 'Default: \\fB%s\\fR.\n' "$def"
				else
					printf 'Default: empty.\n'
				fi
			done
		else
			printf '%s\n' "$l"
		fi
	done
	;;
*)
	echo "usage: gen-config.sh conf|man BERTHD [KEY=VALUE]..." >&2
	exit 2
	;;
esac
