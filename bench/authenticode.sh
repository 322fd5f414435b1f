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
#   - prints per-case medians (ms, MB/s) and the ratio osslsigncode/hallmark
#     (> 1 means Hallmark is faster). Target (issue 8): ratio >= 1.
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

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A med
run_case() { # name command...
	local name=$1; shift
	local times=()
	for _ in $(seq "$RUNS"); do
		rm -f "$work/o.exe"
		local t0; t0=$(now_ns)
		"$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
		times+=($(( ($(now_ns) - t0) / 1000 )))
	done
	med[$name]=$(printf '%s\n' "${times[@]}" | median)
	printf '%-28s runs(us): %s\n' "$name" "${times[*]}" >&2
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
printf 'Authenticode signing, %s bytes PE, %s key, median of %s runs (%s cores, osslsigncode %s)\n' \
	"$bytes" "$KEY" "$RUNS" "$(nproc)" "$(osslsigncode --version 2>&1 | head -1 | awk '{print $2}' | tr -d ,)"
printf '%-16s %14s %10s %14s %10s %8s\n' case osslsigncode MB/s hallmark MB/s ratio
for c in "" "+timestamp"; do
	o=${med[osslsigncode$c]} h=${med[hallmark$c]}
	awk -v c="sign${c}" -v o="$o" -v h="$h" -v b="$bytes" 'BEGIN {
		printf "%-16s %11.1f ms %10.0f %11.1f ms %10.0f %7.2fx\n", c, o/1000, b/o, h/1000, b/h, o/h }'
done
