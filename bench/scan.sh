#!/usr/bin/env bash
# scan.sh: `hallmark sbom` against syft and `hallmark scan` against
# osv-scanner, side by side in one run, on the same inputs.
#
# What it measures (hyperfine, wall time, runs alternating between tools):
#   (a) `hallmark db import` of the Go vulnerability database
#       (../shared/data/go-vulndb-osv.tgz, 4,291 records) into a fresh
#       database. Target: under 2 s.
#   (b) SBOM of a source tree: `hallmark sbom DIR --format cyclonedx` against
#       `syft scan dir:DIR -o cyclonedx-json`, both writing CycloneDX JSON,
#       each with its default settings plus syft's licences from the local
#       module cache (SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES=true), since
#       hallmark reads licences from the module cache too.
#   (c) vulnerability scan of the same tree against the full Go database:
#       `hallmark scan DIR --format json` (the database imported once, as
#       `hallmark db import` leaves it) against `osv-scanner scan source
#       --offline --all-vulns --no-call-analysis=go --experimental-plugins=
#       lockfile,sbom,directory,go/binary --format json DIR` (its offline
#       database: the same records as its per-ecosystem all.zip). osv-scanner
#       runs without -r: recursive, it would also read the fixture lockfiles
#       under testdata/, which hallmark skips (they are not the product); both
#       trees have their one manifest, go.mod, at the root, so both tools scan
#       the same go.mod (and osv-scanner walks less).
#       The script checks that both report the same (vulnerability, package,
#       version) triples before it times anything, and fails if not.
#   Inputs: this repository, and a larger Go module tree: cosign v2.6.5's
#   source from the module cache (about 300 modules in its go.mod; fetched
#   with `go mod download` when missing, which needs the module proxy).
#   Target for (b) and (c): hallmark at least 2x faster than the peer.
#
# How to run, from anywhere in the repository:
#
#   bash bench/scan.sh
#
# It needs go, python3, zip, hyperfine (apt-get installs those missing), and
# syft and osv-scanner (default $HALLMARK_PEERS, else ~/.cache/hallmark-peers,
# installed with ../shared/tools/install-peers.sh when missing). RUNS changes
# the hyperfine run count (default 10). Nothing here reaches the internet
# except the module proxy and apt; syft's update check is turned off.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$repo/../shared
peers=${HALLMARK_PEERS:-$HOME/.cache/hallmark-peers}
runs=${RUNS:-10}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hallmark-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log() { printf '==> %s\n' "$*" >&2; }

for pkg in hyperfine zip; do
	if ! command -v "$pkg" >/dev/null 2>&1; then
		log "installing $pkg"
		apt-get update >/dev/null && apt-get install -y "$pkg" >/dev/null
	fi
done
for tool in syft osv-scanner; do
	if [[ ! -x $peers/$tool ]]; then
		log "installing $tool"
		bash "$shared/tools/install-peers.sh" "$peers" "$tool"
	fi
done
for tool in go python3 hyperfine zip; do
	command -v "$tool" >/dev/null || { echo "scan.sh: $tool not found" >&2; exit 1; }
done
syft=$peers/syft
osvscanner=$peers/osv-scanner
export SYFT_CHECK_FOR_APP_UPDATE=false SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES=true

log "building hallmark"
hallmark=$tmp/hallmark
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$hallmark" ./cmd/hallmark)

log "preparing the databases"
tgz=$shared/data/go-vulndb-osv.tgz
mkdir -p "$tmp/godb" "$tmp/osvdb/osv-scalibr/Go" "$tmp/osvdb/osv-scanner/Go"
tar -xzf "$tgz" -C "$tmp/godb"
(cd "$tmp/godb/data/osv" && zip -qj "$tmp/osvdb/osv-scalibr/Go/all.zip" ./*.json)
cp "$tmp/osvdb/osv-scalibr/Go/all.zip" "$tmp/osvdb/osv-scanner/Go/all.zip"
# osv-scanner 2.5 reads its offline database through osv-scalibr's matcher.
export OSV_SCALIBR_LOCAL_DB_CACHE_DIRECTORY=$tmp/osvdb OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=$tmp/osvdb
db=$tmp/osv.sqlite
"$hallmark" db import --quiet --db "$db" "$tgz"

cosign_dir=$(go mod download -json github.com/sigstore/cosign/v2@v2.6.5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
targets=("$repo" "$cosign_dir")
# The two scans, as compared and as timed (followed by the directory).
hm_scan="$hallmark scan --db $db --format json"
osv_scan="$osvscanner scan source --offline --all-vulns --no-call-analysis=go --experimental-plugins=lockfile,sbom,directory,go/binary --format json"

# Same findings first: (id, package, version) from both tools, versions
# without Go's leading "v".
same_findings() {
	local dir=$1
	$hm_scan "$dir" >"$tmp/hm.json" || [[ $? == 1 ]]
	$osv_scan "$dir" >"$tmp/osv.json" 2>/dev/null || [[ $? == 1 ]]
	python3 - "$tmp/hm.json" "$tmp/osv.json" <<'EOF'
import json, sys
hm = json.load(open(sys.argv[1]))
osv = json.load(open(sys.argv[2]))
a = []  # (ids, package, version) per hallmark finding
for f in hm.get("findings") or []:
    if f["kind"] not in ("vulnerability", "malicious"):
        continue
    p = f["package"]
    a.append(({f["id"], *(f.get("aliases") or [])}, p["name"], p["version"].removeprefix("v")))
b = []  # the same per osv-scanner group
for r in osv.get("results") or []:
    for p in r["packages"]:
        pkg = p["package"]
        for g in p.get("groups") or []:
            b.append(({*g["ids"], *(g.get("aliases") or [])}, pkg["name"], pkg["version"]))
def match(x, y): return x[1:] == y[1:] and x[0] & y[0]
missing = [sorted(y[0])[0] + " " + y[1] + "@" + y[2] for y in b if not any(match(x, y) for x in a)]
extra = [sorted(x[0])[0] + " " + x[1] + "@" + x[2] for x in a if not any(match(x, y) for y in b)]
print(f"same findings? hallmark {len(a)}, osv-scanner {len(b)}", file=sys.stderr)
if missing or extra:
    print("missing from hallmark:", missing, "\nextra in hallmark:", extra, file=sys.stderr)
    sys.exit(1)
EOF
}

log "(a) db import of the Go database"
hyperfine --runs "$runs" --warmup 1 --export-markdown "$tmp/a.md" \
	--prepare "rm -f $tmp/fresh.sqlite $tmp/fresh.sqlite-wal $tmp/fresh.sqlite-shm" \
	-n "hallmark db import" "$hallmark db import --quiet --db $tmp/fresh.sqlite $tgz"
cat "$tmp/a.md"

for dir in "${targets[@]}"; do
	name=$(basename "$dir")
	log "(b) sbom of $name: hallmark vs syft"
	hyperfine --runs "$runs" --warmup 1 --export-markdown "$tmp/b.md" \
		-n "hallmark sbom" "$hallmark sbom --format cyclonedx -o $tmp/hm.cdx.json $dir" \
		-n "syft" "$syft scan -q dir:$dir -o cyclonedx-json=$tmp/syft.cdx.json"
	cat "$tmp/b.md"
	python3 - "$tmp/hm.cdx.json" "$tmp/syft.cdx.json" <<'EOF'
import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    c = d.get("components") or []
    print(f"{f.rsplit('/', 1)[1]}: {len(c)} components, {sum(1 for x in c if x.get('purl', '').startswith('pkg:golang/'))} Go modules", file=sys.stderr)
EOF

	log "(c) scan of $name: hallmark vs osv-scanner (offline, full Go database)"
	same_findings "$dir"
	hyperfine --runs "$runs" --warmup 1 -i --export-markdown "$tmp/c.md" \
		-n "hallmark scan" "$hm_scan $dir" \
		-n "osv-scanner" "$osv_scan $dir"
	cat "$tmp/c.md"
done
