#!/bin/sh
# Prints the Debian packages that provide the shared libraries BINARY... load,
# one per line: what a slim runtime image must install for them. Run where
# the binaries were built (the Dockerfile's builder stage).
#
#   tools/deploy/runtime_packages.sh build/bin/routing
set -eu
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
libraries=""
for binary in "$@"; do
  deps=$(ldd "$binary") || { echo "$0: ldd $binary failed" >&2; exit 1; }
  if echo "$deps" | grep -q 'not found'; then
    echo "$deps" | grep 'not found' >&2
    echo "$0: $binary: unresolved libraries" >&2
    exit 1
  fi
  libraries="$libraries $(echo "$deps" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')"
done
packages=""
# shellcheck disable=SC2086  # the lists are words
for library in $(printf '%s\n' $libraries | sort -u); do
  # dpkg knows the path it installed, which may be the /usr-merged twin.
  owner=$(dpkg -S "$library" 2> /dev/null || dpkg -S "$(readlink -f "$library")" 2> /dev/null ||
    dpkg -S "/usr$library" 2> /dev/null) || { echo "$0: no package owns $library" >&2; exit 1; }
  packages="$packages ${owner%%:*}"
done
# shellcheck disable=SC2086
printf '%s\n' $packages | sort -u
