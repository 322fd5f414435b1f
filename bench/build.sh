#!/usr/bin/env bash
# build.sh: the overhead of a sandboxed build, side by side.
#
# The same `go build -trimpath -buildvcs=false -ldflags=-buildid=` of
# examples/hello for linux/amd64, run directly and through builder.Run (one
# step: source snapshot, toolchain check, a namespace sandbox, outputs
# hashed), runs alternating so that load on the machine falls on both sides
# alike. Both sides use:
#   - the verified golang.org/toolchain module of go.mod's release, from the
#     module cache (the builder's warm check, keyed by stat snapshot, is part
#     of its time; its first, cold check is not and is printed apart);
#   - the machine's module cache, warm and read-only (GOPROXY=off);
#   - a fresh, empty GOCACHE for every run: the builder gives every step a
#     fresh one (a shared build cache is a poisoning vector), so the direct
#     build gets one too, on a tmpfs (/dev/shm) as the sandbox's /tmp is.
#     Most of each run is compiling the standard library.
# RUNS (default 5) runs of each; medians and their ratio are printed.
# Target: builder at most 1.10x the direct wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/buildbench" ./bench/build
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/buildbench" -src examples/hello -runs "$RUNS"
echo "after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
