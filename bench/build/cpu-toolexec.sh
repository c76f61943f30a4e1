#!/bin/sh
# go build -toolexec wrapper: appends "package user_s system_s" of each
# compile to $CPULOG (CPU seconds hold better than wall seconds on a loaded
# machine). Example in bench/build/results.md.
tool=$1; shift
case "$(basename "$tool")" in
compile)
	pkg=?
	prev=
	for a in "$@"; do
		[ "$prev" = "-p" ] && pkg=$a
		prev=$a
	done
	t=$(mktemp)
	/usr/bin/time -f "%U %S" -o "$t" "$tool" "$@"
	rc=$?
	echo "$pkg $(tail -1 "$t")" >> "$CPULOG"
	rm -f "$t"
	exit $rc;;
*) exec "$tool" "$@";;
esac
