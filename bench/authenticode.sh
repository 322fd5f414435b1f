#!/usr/bin/env bash
# authenticode.sh: Authenticode signing throughput of Hallmark (package
# authenticode, driven by bench/authenticode) against osslsigncode sign, on
# the same ~50 MB PE file, side by side.
#
# What it does:
#   - builds a Go windows/amd64 program embedding SIZE_MB of random bytes
#     (//go:embed), so the PE file is about SIZE_MB + 1.5 MB;
#   - makes a root CA and a code-signing leaf (RSA 2048 by default, KEY=ecdsa
#     for P-256), key.pem in PKCS#8 for both signers;
#   - starts a local RFC 3161 TSA (package tsa over HTTP on 127.0.0.1);
#   - times RUNS end-to-end signings of the file by each tool, each run a new
#     process that reads the file, hashes it, signs, embeds the signature and
#     writes the output file: `osslsigncode sign -certs cert.pem -key key.pem
#     -h sha256 -in big.exe -out o.exe` against `authenticode sign -in big.exe
#     -out h.exe`; without timestamp and with `-ts http://127.0.0.1:PORT/`
#     (both tools then send one TimeStampReq over HTTP to the same TSA);
#   - checks one output of each with `osslsigncode verify` (and the TSA root);
#   - prints per-case medians of wall time (and MB/s) and of CPU time
#     (user + sys, less sensitive to a busy machine than wall time), and the
#     ratios osslsigncode/hallmark (> 1 means Hallmark is faster). Target
#     (issue 8): ratio >= 1.
#
# How to run, from anywhere in the repository:
#
#   bash bench/authenticode.sh
#
# Settings (environment): RUNS=5, SIZE_MB=50, KEY=rsa|ecdsa, OUT=dir (keep
# the files there; default a temporary directory, removed at the end).
set -euo pipefail

RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-50}
KEY=${KEY:-rsa}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v osslsigncode >/dev/null || { echo "authenticode.sh: osslsigncode is not installed" >&2; exit 1; }
if [[ -n ${OUT:-} ]]; then
	work=$OUT
	mkdir -p "$work"
else
	work=$(mktemp -d)
fi
tsa_pid=
trap 'kill $tsa_pid 2>/dev/null || true; [[ -z ${OUT:-} ]] && rm -rf "$work"' EXIT

echo "== building the driver and a ${SIZE_MB} MB windows/amd64 PE in $work" >&2
(cd "$root" && go build -o "$work/hallmark-authenticode" ./bench/authenticode)
mkdir -p "$work/big"
head -c "${SIZE_MB}M" /dev/urandom >"$work/big/blob.bin"
cat >"$work/big/main.go" <<'GO'
package main

import _ "embed"

//go:embed blob.bin
var blob []byte

func main() { println(len(blob)) }
GO
printf 'module big\n\ngo 1.22\n' >"$work/big/go.mod"
(cd "$work/big" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 GOFLAGS= GOWORK=off go build -trimpath -o "$work/big.exe" .)
bytes=$(stat -c %s "$work/big.exe")

"$work/hallmark-authenticode" pki -dir "$work" -key "$KEY"
"$work/hallmark-authenticode" tsa -dir "$work" &
tsa_pid=$!
for _ in $(seq 50); do [[ -s $work/tsa.url ]] && break; sleep 0.1; done
tsa_url=$(cat "$work/tsa.url")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A wall cpu
run_case() { # name command...
	local name=$1; shift
	local walls=() cpus=() t
	for _ in $(seq "$RUNS"); do
		rm -f "$work/o.exe"
		t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>"$work/err.txt"; } 2>&1 ) ||
			{ cat "$work/err.txt" >&2; exit 1; }
		read -r r u s <<<"$t"
		walls+=("$r")
		cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.3f", u+s}')")
	done
	wall[$name]=$(printf '%s\n' "${walls[@]}" | median)
	cpu[$name]=$(printf '%s\n' "${cpus[@]}" | median)
	printf '%-24s wall(s): %s  cpu(s): %s\n' "$name" "${walls[*]}" "${cpus[*]}" >&2
}

verify() { # file
	osslsigncode verify -in "$1" -CAfile "$work/root.pem" -TSA-CAfile "$work/tsa-root.pem" -ignore-crl >"$work/verify.txt" 2>&1 ||
		{ cat "$work/verify.txt" >&2; echo "authenticode.sh: osslsigncode verify failed on $1" >&2; exit 1; }
}

ossl=(osslsigncode sign -certs "$work/cert.pem" -key "$work/key.pem" -h sha256 -in "$work/big.exe" -out "$work/o.exe")
hm=("$work/hallmark-authenticode" sign -dir "$work" -in "$work/big.exe" -out "$work/o.exe")

echo "== $RUNS runs per case, file $bytes bytes, key $KEY" >&2
run_case "osslsigncode" "${ossl[@]}"; verify "$work/o.exe"
run_case "hallmark" "${hm[@]}"; verify "$work/o.exe"
run_case "osslsigncode+timestamp" "${ossl[@]}" -ts "$tsa_url"; verify "$work/o.exe"
grep -q "Timestamp Server Signature verification: ok" "$work/verify.txt"
run_case "hallmark+timestamp" "${hm[@]}" -ts "$tsa_url"; verify "$work/o.exe"
grep -q "Timestamp Server Signature verification: ok" "$work/verify.txt"

echo
printf 'Authenticode signing, %s bytes PE, %s key, median of %s runs, %s cores, load average %s, osslsigncode %s\n' \
	"$bytes" "$KEY" "$RUNS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$(osslsigncode --version 2>&1 | head -1 | awk '{print $2}' | tr -d ,)"
printf '%-16s %-26s %-26s %s\n' case "osslsigncode wall / cpu" "hallmark wall / cpu" "ratio wall / cpu (ossl/hallmark)"
for c in "" "+timestamp"; do
	awk -v c="sign${c}" -v ow="${wall[osslsigncode$c]}" -v oc="${cpu[osslsigncode$c]}" \
		-v hw="${wall[hallmark$c]}" -v hc="${cpu[hallmark$c]}" -v b="$bytes" 'BEGIN {
		printf "%-16s %6.0f ms (%4.0f MB/s) / %4.0f ms %6.0f ms (%4.0f MB/s) / %4.0f ms %5.2fx / %5.2fx\n",
			c, ow*1000, b/ow/1e6, oc*1000, hw*1000, b/hw/1e6, hc*1000, ow/hw, oc/hc }'
done
