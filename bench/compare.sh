#!/usr/bin/env bash
# compare.sh: Hallmark's speed against its reference points.
#
# What it measures:
#   (a) hashing: wall time of `hallmark digest` on a 1 GiB file of random bytes
#       against `openssl dgst -sha256` on the same file (and, for information,
#       `hallmark sign`, which also signs, logs and timestamps) (hyperfine, warmup 1;
#       the warmup also puts the file in the page cache, so this is CPU, not
#       disk). Target: hallmark's throughput >= 0.9x openssl's.
#   (b) verification: wall time of `hallmark verify --key` against
#       `cosign verify-blob --key --use-signed-timestamps` on a small file and
#       the same bundle, made by `hallmark sign`: the log entry with its
#       inclusion proof and signed checkpoint, and the RFC 3161 timestamp, all
#       checked offline against the exported trusted root (hyperfine, warmup
#       3, 30 runs). Target: hallmark faster than cosign.
#   (c) in-process Go benchmarks: digest.File on 256 MiB (-benchtime 3x),
#       sign-and-bundle against a bare crypto/ecdsa P-256 signature, and
#       bundle verification; plus `openssl speed` for SHA-256 over 1 MiB
#       blocks as the in-process reference for (c)'s hashing figure.
#
# How to run, from anywhere in the repository:
#
#   bash bench/compare.sh
#
# It needs go, openssl, python3, hyperfine (installed with apt-get if missing)
# and cosign 2.x (default $HALLMARK_PEERS/cosign, else ~/.cache/hallmark-peers/cosign,
# installed with ../shared/tools/install-peers.sh if missing; override with COSIGN=path).
# HASH_RUNS and VERIFY_RUNS change the hyperfine run counts. It builds its own
# hallmark binary, uses a throwaway key (plaintext, HALLMARK_HOME in a temp
# dir) and removes its temp dir on exit. It takes a few minutes; results are
# noisy on a small shared machine, so run it twice before trusting a ratio.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cosign=${COSIGN:-${HALLMARK_PEERS:-$HOME/.cache/hallmark-peers}/cosign}
shared=$repo/../shared
hash_runs=${HASH_RUNS:-10}
verify_runs=${VERIFY_RUNS:-30}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hallmark-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log() { printf '==> %s\n' "$*" >&2; }

# Tools.
if ! command -v hyperfine >/dev/null 2>&1; then
	log "installing hyperfine"
	apt-get update >/dev/null && apt-get install -y hyperfine >/dev/null
fi
if [[ ! -x $cosign ]]; then
	log "installing cosign"
	bash "$shared/tools/install-peers.sh" "$(dirname "$cosign")" cosign
fi
for tool in go openssl python3 hyperfine; do
	command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 1; }
done

log "building hallmark"
hallmark=$tmp/hallmark
(cd "$repo" && go build -o "$hallmark" ./cmd/hallmark)

export HALLMARK_HOME=$tmp/home
"$hallmark" init --insecure-plaintext 2>/dev/null
"$hallmark" key generate --insecure-plaintext 2>/dev/null
trusted_root=$tmp/trusted_root.json
"$hallmark" trust-root --out "$trusted_root" >/dev/null
"$hallmark" key export-public default >"$tmp/pub.pem"

# (a) Hashing a 1 GiB file.
log "writing 1 GiB of random data"
big=$tmp/big
head -c 1G /dev/urandom >"$big"

log "(a) hashing: openssl dgst vs hallmark digest (and hallmark sign, end to end), 1 GiB"
hyperfine --warmup 1 --runs "$hash_runs" --export-json "$tmp/hash.json" \
	-n openssl "openssl dgst -sha256 '$big'" \
	-n hallmark "'$hallmark' digest '$big'" \
	-n sign "'$hallmark' sign '$big'"

# (b) Verifying a small file.
small=$tmp/small.txt
head -c 4096 /dev/urandom >"$small"
"$hallmark" sign "$small" >/dev/null
# Both must accept the bundle before their speed means anything.
"$hallmark" verify --key "$tmp/pub.pem" --trusted-root "$trusted_root" "$small" 2>/dev/null
"$cosign" verify-blob --key "$tmp/pub.pem" --bundle "$small.sigstore.json" \
	--new-bundle-format --trusted-root "$trusted_root" --use-signed-timestamps "$small" >/dev/null 2>&1

log "(b) verifying: cosign verify-blob vs hallmark verify, 4 KiB"
hyperfine --warmup 3 --runs "$verify_runs" --export-json "$tmp/verify.json" \
	-n cosign "'$cosign' verify-blob --key '$tmp/pub.pem' --bundle '$small.sigstore.json' --new-bundle-format --trusted-root '$trusted_root' --use-signed-timestamps '$small'" \
	-n hallmark "'$hallmark' verify --key '$tmp/pub.pem' --trusted-root '$trusted_root' '$small'"

# (c) In-process benchmarks.
log "(c) go test benchmarks"
(
	cd "$repo"
	go test -run '^$' -bench . -benchtime 3x ./digest/
	go test -run '^$' -bench 'Sign|RawECDSA' ./bundle/
	go test -run '^$' -bench 'Verify(Key|Logged)Bundle' ./verifier/
) | tee "$tmp/gobench.txt"
log "openssl speed -evp sha256 -bytes 1048576"
openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null | tail -n 3 | tee "$tmp/speed.txt"

# Summary.
python3 - "$tmp" <<'PY'
import json, os, re, sys

tmp = sys.argv[1]
GiB = 1 << 30

def hf(name):
    with open(os.path.join(tmp, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}

hash_r, ver_r = hf("hash.json"), hf("verify.json")
gob = {}
with open(os.path.join(tmp, "gobench.txt")) as f:
    for line in f:
        m = re.match(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?", line)
        if m:
            gob[m.group(1)] = (float(m.group(2)), float(m.group(3) or 0))
speed = None
with open(os.path.join(tmp, "speed.txt")) as f:
    for line in f:
        m = re.match(r"^sha256\s+([\d.]+)k", line)
        if m:
            speed = float(m.group(1)) * 1000 / 1e6  # MB/s (10^6 bytes)

def t(r):
    return "%.3f s ± %.3f" % (r["mean"], r["stddev"])

def ms(r):
    return "%.1f ms ± %.1f" % (r["mean"] * 1e3, r["stddev"] * 1e3)

def verdict(ok):
    return "met" if ok else "MISSED"

rows = []
o, h = hash_r["openssl"], hash_r["hallmark"]
thr = o["mean"] / h["mean"]
rows.append(("hash 1 GiB (wall, mean)", "openssl " + t(o), "hallmark digest " + t(h), ""))
sg = hash_r["sign"]
rows.append(("sign 1 GiB: hash, sign, log, timestamp", "", "hallmark sign " + t(sg), "(info)"))
rows.append(("hash throughput", "openssl %.0f MB/s" % (GiB / o["mean"] / 1e6),
             "hallmark %.0f MB/s" % (GiB / h["mean"] / 1e6),
             "%.2fx (target >= 0.90x: %s)" % (thr, verdict(thr >= 0.9))))
if "BenchmarkFile" in gob and speed:
    gm = gob["BenchmarkFile"][1]
    rows.append(("hash in-process (1 MiB reads)", "openssl speed %.0f MB/s" % speed,
                 "digest.File %.0f MB/s" % gm, "%.2fx (info)" % (gm / speed)))
if "BenchmarkSignBundle" in gob and "BenchmarkRawECDSAP256" in gob:
    s, r = gob["BenchmarkSignBundle"][0], gob["BenchmarkRawECDSAP256"][0]
    rows.append(("signatures/s", "raw ecdsa %.0f/s" % (1e9 / r),
                 "sign+bundle %.0f/s" % (1e9 / s), "%.2fx hallmark/raw" % (r / s)))
c, hv = ver_r["cosign"], ver_r["hallmark"]
vr = c["mean"] / hv["mean"]
rows.append(("verify logged 4 KiB (wall, mean)", "cosign " + ms(c), "hallmark " + ms(hv),
             "%.2fx cosign/hallmark (target > 1: %s)" % (vr, verdict(vr > 1))))
if "BenchmarkVerifyKeyBundle" in gob:
    rows.append(("verify in-process, no log", "", "%.0f µs/op" % (gob["BenchmarkVerifyKeyBundle"][0] / 1e3), "(info)"))
if "BenchmarkVerifyLoggedBundle" in gob:
    rows.append(("verify in-process, proof+checkpoint+timestamp", "", "%.0f µs/op" % (gob["BenchmarkVerifyLoggedBundle"][0] / 1e3), "(info)"))

head = ("measure", "reference", "hallmark", "ratio")
w = [max(len(x[i]) for x in rows + [head]) for i in range(4)]
fmt = " | ".join("%%-%ds" % n for n in w)
print()
print(fmt % head)
print("-+-".join("-" * n for n in w))
for row in rows:
    print(fmt % row)
PY
