#!/bin/sh
# hello.sh runs the hello binary built for this machine, shipped next to it.
set -eu
dir=$(dirname "$0")
exec "$dir/../bin/linux-amd64/hello" "$@"
