#!/usr/bin/env bash
# serve.sh: how many signed-and-logged requests per second 'hallmark serve'
# sustains over HTTP, with SQLite and PostgreSQL state side by side.
#
# What it measures: bench/loadgen (a Go program) drives a real 'hallmark
# serve' process on loopback with CLIENTS concurrent clients (default 64),
# each looping on one keep-alive connection: POST /api/v1/op/sign with a
# fresh nonce and ITEMS random SHA-256 digests, waiting for the response, in
# which every bundle is signed (ECDSA P-256), recorded in the state database,
# logged (inclusion proof against a published checkpoint) and timestamped.
# After WARMUP, it counts what completes in DURATION: requests/s,
# signatures/s, latency p50/p90/p99/max, errors by status. Beside it, the
# script samples the server: VmHWM (peak RSS) and VmRSS from
# /proc/PID/status every 0.2 s, and its CPU time over the measured window
# ("server cores"; PostgreSQL's own processes are not in it), and the whole
# machine's busy CPU from /proc/stat ("machine cores": server, loadgen,
# PostgreSQL and anything else running; at most 2).
# Target (issue "Done means"): >= 5,000 signed-and-logged requests/s with 64
# clients, p99 < 2 s, server RSS < 300 MB, on this 2-core machine.
#
# Each backend gets one fresh control plane: 'hallmark init
# --insecure-plaintext' (PostgreSQL: --database on a new database, dropped at
# the end), 'hallmark key generate', 'hallmark admin token issue --role
# builder'. Every configuration runs ROUNDS times, interleaved (round 1:
# config A sqlite, config A postgres, config B sqlite, ...; round 2: the
# same), so that the machine's noise hits both backends; each run restarts
# the server with that configuration's flags. The first run of each
# backend also verifies 20 returned bundles offline (loadgen -verify-sample)
# against the server's trusted root and the exported signing key.
#
# How to run, from anywhere in the repository:
#
#   bash bench/serve.sh
#
# Settings, as environment variables:
#   ROUNDS=2             repetitions of every configuration
#   DURATION=20s         measured window of each run (WARMUP=5s before it);
#                        both in whole seconds
#   BACKENDS="sqlite postgres"
#   CONFIGS="..."        space-separated NAME:CHECKPOINT_INTERVAL:BATCH_MAX_AGE:ITEMS:CLIENTS
#                        ("-": the server's default, 100ms for both). The
#                        default: 64 clients of 1 item with the defaults and
#                        with --batch-max-age 20ms; 64 clients of 16 items;
#                        1,024 clients of 1 item. A --checkpoint-interval
#                        under 100ms is refused (Tessera's POSIX driver's
#                        minimum).
#   PG=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (psql -h
#                        127.0.0.1 -U postgres must be able to create databases)
#   PROFILE=NAME:BACKEND after the runs, one more run of that configuration
#                        with the server in a test binary (bench/serveprof:
#                        the same handler, with net/http/pprof beside it): a
#                        CPU profile of the measured window (top functions
#                        by cumulative time), goroutines and heap at
#                        mid-run, all kept in OUT
#   OUT=dir              keep results, server logs and profiles there
# It takes about (WARMUP + DURATION + 4 s) x configs x backends x ROUNDS:
# about 9 minutes with the defaults. The machine must be otherwise idle.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-2}
duration=${DURATION:-20s}
warmup=${WARMUP:-5s}
backends=${BACKENDS:-sqlite postgres}
configs=${CONFIGS:-default:-:-:1:64 age20ms:-:20ms:1:64 16items:-:-:16:64 1024clients:-:-:1:1024}
pgbase=${PG:-postgres://postgres@127.0.0.1:5432}
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/hallmark-serve-bench.XXXXXX")}
mkdir -p "$out"
# 'hallmark serve' picks GOGC=400 itself unless GOGC is set.
unset GOGC GOMEMLIMIT HALLMARK_SERVER HALLMARK_TOKEN

log() { printf '==> %s\n' "$*" >&2; }
for tool in go python3 curl; do
	command -v "$tool" >/dev/null || { echo "serve.sh: $tool not found" >&2; exit 1; }
done
if [[ " $backends " == *" postgres "* ]] && ! command -v psql >/dev/null; then
	echo "serve.sh: psql not found (or set BACKENDS=sqlite)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hallmark-serve-work.XXXXXX")
pgdb=hallmark_bench_$$
server_pid=
cleanup() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ " $backends " == *" postgres "* ]]; then
		psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

log "building hallmark and loadgen"
(
	cd "$repo"
	CGO_ENABLED=0 go build -trimpath -o "$work/hallmark" ./cmd/hallmark
	CGO_ENABLED=0 go build -trimpath -o "$work/loadgen" ./bench/loadgen
	if [[ -n ${PROFILE:-} ]]; then
		go test -c -o "$work/serveprof.test" ./bench/serveprof
	fi
)
hallmark=$work/hallmark

# setup BACKEND: a fresh control plane in $work/BACKEND; its token in
# $work/BACKEND/token, its public key in $work/BACKEND/pub.pem.
setup() {
	local b=$1 dir=$work/$1
	local db=()
	mkdir -p "$dir"
	if [[ $b == postgres ]]; then
		PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null
		psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $pgdb" >/dev/null
		db=(--database "$pgbase/$pgdb")
	fi
	export HALLMARK_HOME=$dir/home
	{
		"$hallmark" init --insecure-plaintext "${db[@]}" &&
			"$hallmark" key generate &&
			"$hallmark" admin token issue --subject bench --role builder --project default --ttl 4h >"$dir/token" &&
			"$hallmark" key export-public default >"$dir/pub.pem"
	} 2>>"$out/setup.log" || { cat "$out/setup.log" >&2; exit 1; }
	unset HALLMARK_HOME
}

port=$((20000 + $$ % 20000))

kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# run NAME BACKEND ROUND [verify]: one run; appends a JSON line to
# $out/results.jsonl.
run() {
	local name=$1 b=$2 round=$3 verify=${4:-} cfg= spec
	for spec in $configs; do
		[[ ${spec%%:*} == "$name" ]] && cfg=$spec
	done
	local cp age items clients
	IFS=: read -r _ cp age items clients <<<"$cfg"
	local flags=(--addr "127.0.0.1:$port" --rate 1000000)
	[[ $cp != - ]] && flags+=(--checkpoint-interval "$cp")
	[[ $age != - ]] && flags+=(--batch-max-age "$age")
	local dir=$work/$b slog=$out/serve-$name-$b-$round.log
	if [[ $round == profile ]]; then
		# The same server in a test binary, with net/http/pprof beside it.
		SERVEPROF_HOME=$dir/home SERVEPROF_ADDR=127.0.0.1:$port SERVEPROF_PPROF=127.0.0.1:$((port + 1)) \
			SERVEPROF_FOR=$((${warmup%s} + ${duration%s} + 60))s SERVEPROF_CHECKPOINT=${cp/#-/} SERVEPROF_BATCH_AGE=${age/#-/} \
			"$work/serveprof.test" -test.run '^TestServe$' 2>"$slog" &
	else
		HALLMARK_HOME=$dir/home "$hallmark" serve "${flags[@]}" 2>"$slog" &
	fi
	server_pid=$!
	local i
	for i in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
		kill -0 "$server_pid" 2>/dev/null || { cat "$slog" >&2; exit 1; }
		sleep 0.1
	done
	# Sampler: peak VmRSS every 0.2 s, and the server's CPU time over the
	# measured window (bash builtins only, so that it costs next to nothing).
	(
		local max=0 r=0 k v rest now t0= at0= f u n sy irq sirq st m0=0
		local begin=${EPOCHREALTIME/./}
		local mark=$((begin + ${warmup%s} * 1000000))
		local stop=$((mark + ${duration%s} * 1000000))
		while kill -0 "$server_pid" 2>/dev/null; do
			while read -r k v rest; do
				[[ $k == VmRSS: ]] && r=$v
			done <"/proc/$server_pid/status" 2>/dev/null || true
			((r > max)) && max=$r
			echo "$max" >"$work/maxrss"
			now=${EPOCHREALTIME/./}
			if [[ -z $at0 ]] && ((now >= mark)); then
				read -ra f <"/proc/$server_pid/stat" && t0=$((f[13] + f[14])) at0=$now
				read -r _ u n sy _ _ irq sirq st _ </proc/stat && m0=$((u + n + sy + irq + sirq + st))
			elif [[ -n $at0 && $at0 != done ]] && ((now >= stop)); then
				read -ra f <"/proc/$server_pid/stat" &&
					read -r _ u n sy _ _ irq sirq st _ </proc/stat &&
					echo "$((f[13] + f[14] - t0)) $((now - at0)) $((u + n + sy + irq + sirq + st - m0))" >"$work/cpu"
				at0=done
			fi
			sleep 0.2
		done
	) &
	local sampler=$!
	if [[ $round == profile ]]; then
		(
			sleep "${warmup%s}"
			pp=http://127.0.0.1:$((port + 1))/debug/pprof
			curl -fsS -o "$out/cpu.prof" "$pp/profile?seconds=$((${duration%s} - 2))" &
			sleep $((${duration%s} / 2))
			curl -fsS -o "$out/goroutine.txt" "$pp/goroutine?debug=1"
			curl -fsS -o "$out/heap.prof" "$pp/heap"
			wait
		) &
	fi
	local vflags=()
	[[ -n $verify ]] && vflags=(-verify-sample 20 -key "$dir/pub.pem")
	local res
	res=$("$work/loadgen" -url "http://127.0.0.1:$port" -token "$(cat "$dir/token")" \
		-c "$clients" -items "$items" -d "$duration" -warmup "$warmup" -json "${vflags[@]}") || {
		echo "serve.sh: loadgen failed ($name, $b): $res" >&2
	}
	local hwm=$(kb "$server_pid" VmHWM)
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	wait "$sampler" 2>/dev/null || true
	wait # for the profiler, if any
	local maxrss=$(cat "$work/maxrss" 2>/dev/null || echo 0) cores=0 busy=0
	if [[ -f $work/cpu ]]; then
		cores=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", $1 / hz / ($2 / 1e6)}' "$work/cpu")
		busy=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", $3 / hz / ($2 / 1e6)}' "$work/cpu")
	fi
	rm -f "$work/cpu" "$work/maxrss"
	local errs=$(grep -c '"level":"ERROR"' "$slog" || true)
	printf '{"name":"%s","backend":"%s","round":"%s","cp":"%s","age":"%s","hwmKB":%s,"maxRssKB":%s,"serverCores":%s,"machineCores":%s,"serverErrors":%s,"load":"%s","result":%s}\n' \
		"$name" "$b" "$round" "$cp" "$age" "${hwm:-0}" "$maxrss" "$cores" "$busy" "$errs" "$(cut -d' ' -f1 /proc/loadavg)" "${res:-null}" |
		tee -a "$out/results.jsonl" >&2
}

{
	echo "# $(date -u +%FT%TZ) $(go version) nproc=$(nproc) commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/meta.txt" >&2

for b in $backends; do
	log "setting up a control plane with $b state"
	setup "$b"
done

for round in $(seq "$rounds"); do
	for spec in $configs; do
		name=${spec%%:*}
		for b in $backends; do
			log "round $round: $name, $b"
			verify=
			[[ $round == 1 && $spec == "${configs%% *}" ]] && verify=1
			run "$name" "$b" "$round" "$verify"
		done
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/meta.txt" >&2

if [[ -n ${PROFILE:-} ]]; then
	pname=${PROFILE%%:*} pb=${PROFILE#*:}
	log "profiling: $pname, $pb (bench/serveprof: CPU profile of the measured window, goroutines and heap at mid-run)"
	run "$pname" "$pb" profile
	(
		cd "$repo"
		go tool pprof -top -cum -nodecount 45 "$work/serveprof.test" "$out/cpu.prof" 2>/dev/null
		echo
		echo "in-use heap at mid-run:"
		go tool pprof -top -sample_index inuse_space -nodecount 10 "$work/serveprof.test" "$out/heap.prof" 2>/dev/null | sed -n '1,20p'
	) >"$out/profile.txt"
	cat "$out/profile.txt"
fi

python3 - "$out/results.jsonl" <<'PY'
import json, statistics, sys
from collections import OrderedDict

runs = OrderedDict()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["round"] == "profile" or r["result"] is None:
        continue
    runs.setdefault((r["name"], r["backend"]), []).append(r)

def span(vals, fmt):
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1 or min(vals) == max(vals):
        return fmt % med
    return (fmt % med) + " [" + (fmt % min(vals)) + "-" + (fmt % max(vals)) + "]"

head = ("config", "backend", "clients", "items", "req/s", "sig/s", "p50 ms", "p99 ms", "peak RSS MB",
        "server cores", "server CPU us/sig", "loadgen cores", "machine cores", "errors")
rows = []
best = None
for (name, b), rs in runs.items():
    res = [r["result"] for r in rs]
    errs = sum(sum(x["errors"].values()) for x in res) + sum(r["serverErrors"] for r in rs)
    cpu_per_sig = [r["serverCores"] * 1e6 / x["sigPerSec"] for r, x in zip(rs, res) if x["sigPerSec"]]
    rows.append((name, b, str(res[0]["clients"]), str(res[0]["items"]),
                 span([x["reqPerSec"] for x in res], "%.0f"), span([x["sigPerSec"] for x in res], "%.0f"),
                 span([x["p50ms"] for x in res], "%.0f"), span([x["p99ms"] for x in res], "%.0f"),
                 span([r["hwmKB"] / 1024 for r in rs], "%.0f"),
                 span([r["serverCores"] for r in rs], "%.2f"), span(cpu_per_sig, "%.0f"),
                 span([x["clientCPU"] for x in res], "%.2f"), span([r.get("machineCores", 0) for r in rs], "%.2f"), str(errs)))
    med = statistics.median([x["reqPerSec"] for x in res])
    if res[0]["clients"] == 64 and res[0]["items"] == 1 and (best is None or med > best[0]):
        best = (med, name, b, statistics.median([x["p99ms"] for x in res]), max(r["hwmKB"] for r in rs) / 1024)
    for x in res:
        if x.get("verified") or x.get("verifyFailed") or x.get("verifyError"):
            print("verified offline (%s, %s): %d ok, %d failed %s" % (name, b, x["verified"], x["verifyFailed"], x.get("verifyError", "")))

if not runs:
    sys.exit(0)
w = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
fmt = " | ".join("%%-%ds" % n for n in w)
print()
print("median [min-max] of %d round(s); peak RSS = VmHWM of the server process" % max(len(v) for v in runs.values()))
print(fmt % head)
print("-+-".join("-" * n for n in w))
for row in rows:
    print(fmt % row)
print()
if best:
    med, name, b, p99, rss = best
    print("Target, 64 clients, 1 item: >= 5000 req/s: %s (best %.0f/s, %s %s); p99 < 2 s: %s (%.0f ms); RSS < 300 MB: %s (max %.0f MB)" % (
        "met" if med >= 5000 else "MISSED", med, name, b, "met" if p99 < 2000 else "MISSED", p99,
        "met" if rss < 300 else "MISSED", rss))
PY
log "results: $out/results.jsonl, server logs: $out/serve-*.log"
