#!/bin/sh
# Prints a linker version script for uring_fail.so that declares every version node of the real
# liburing given as $1 and puts each symbol named in $2.. into the node the real library exports
# it under. A program linked against liburing checks that whatever satisfies its "liburing.so.2"
# dependency defines the versions it needs, and a versioned reference (io_uring_queue_init@LIBURING_2.0)
# binds only to a definition of that version.
set -eu
real=$1
shift
nodes=$(objdump -p "$real" | sed -n '/^Version definitions:/,/^$/p' | awk 'NF == 4 && $2 != "0x01" { print $4 }')
prev=""
for node in $nodes; do
    globals=""
    for sym in "$@"; do
        ver=$(objdump -T "$real" | awk -v s="$sym" '$NF == s { print $(NF - 1) }' | head -n 1)
        if [ "$ver" = "$node" ]; then
            globals="$globals $sym;"
        fi
    done
    printf '%s {' "$node"
    if [ -n "$globals" ]; then
        printf ' global:%s' "$globals"
    fi
    if [ -z "$prev" ]; then
        printf ' local: *;'
    fi
    printf ' }%s;\n' "${prev:+ $prev}"
    prev=$node
done
if [ -z "$nodes" ]; then
    # An unversioned liburing: export the wrappers unversioned.
    printf '{ global:'
    for sym in "$@"; do printf ' %s;' "$sym"; done
    printf ' local: *; };\n'
fi
