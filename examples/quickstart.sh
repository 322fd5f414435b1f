#!/usr/bin/env bash
# The quick start: builds hallmark, creates the embedded control plane in a
# throwaway data directory (a transparency log, a timestamp authority, a CA,
# an encrypted file keystore, SQLite state), signs a file and an attestation
# about it (each logged with an inclusion proof and timestamped), verifies
# both offline against the exported trusted root, serves the control plane
# and signs through it with a builder's token and a short-lived certificate,
# verifies the audit log, checks the log, writes and attests an SBOM of
# hallmark, scans the hallmark binary, runs the main job (a hermetic build of
# examples/hello through the gate, every executable signed, provenance,
# verdict and SBOM attested), verifies the release against a policy,
# rebuilds it byte for byte, and shows that a changed file fails.
# Run from anywhere: bash examples/quickstart.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building hallmark"
(cd "$repo" && go build -o "$work/bin/hallmark" ./cmd/hallmark)
export PATH="$work/bin:$PATH"
export HALLMARK_HOME="$work/home"
export HALLMARK_KEY_PASSPHRASE="quickstart passphrase: choose your own"
cd "$work"

echo "== the control plane: transparency log and timestamp authority"
hallmark init

echo "== a signing key, encrypted at rest"
hallmark key generate
hallmark key list
hallmark key export-public default > pub.pem

echo "== sign a file: writes hello.txt.sigstore.json"
echo "hello, hallmark" > hello.txt
hallmark sign hello.txt

echo "== attest: an in-toto statement about the file, in a DSSE bundle"
echo '{"reviewed": true}' > review.json
hallmark attest --predicate-type https://example.com/review/v1 --predicate review.json hello.txt

echo "== verify offline, against the platform's trusted root"
hallmark trust-root --out trusted_root.json
hallmark verify --key pub.pem --trusted-root trusted_root.json hello.txt
hallmark verify --key pub.pem --trusted-root trusted_root.json --bundle hello.txt.intoto.sigstore.json hello.txt

echo "== the control plane as a server: a builder's token signs digests over HTTP"
hallmark admin token issue --subject ci --role builder --project default > ci.token
hallmark serve --addr 127.0.0.1:0 2> serve.log &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  addr=$(sed -n 's/.*"msg":"serving","addr":"\([^"]*\)".*/\1/p' serve.log)
  [ -n "$addr" ] && break
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
[ -n "$addr" ] || { echo "quickstart: hallmark serve did not start:" >&2; cat serve.log >&2; exit 1; }
echo "release build" > app.bin
HALLMARK_SERVER="http://$addr" HALLMARK_TOKEN=$(cat ci.token) hallmark sign --certificate app.bin
hallmark verify --trusted-root trusted_root.json \
  --certificate-identity "https://log.hallmark.localhost/projects/default/builders/ci" \
  --certificate-oidc-issuer https://log.hallmark.localhost app.bin
kill -TERM $server_pid
wait $server_pid

echo "== the audit log: every key use and token, hash-chained, anchored in the log"
hallmark audit anchor
hallmark audit log --verify

echo "== the log: its checkpoint, and the monitor finds nothing foreign"
hallmark log checkpoint
hallmark log monitor

echo "== what hallmark is made of: an SBOM, attested, and a scan"
hallmark sbom "$repo" -o sbom.cdx.json
hallmark attest --predicate-type https://cyclonedx.org/bom --predicate sbom.cdx.json bin/hallmark
vulns=$repo/../shared/data/go-vulndb-osv.tgz                     # the Go vulnerability database
[ -f "$vulns" ] || vulns=$repo/cmd/hallmark/testdata/peers/osv   # else a few fixture records
hallmark db import --quiet "$vulns"
hallmark db status
hallmark scan --fail-on none bin                # the binary: its modules, its Go release, hardening

echo "== the main job: a hermetic build of examples/hello (linux and windows binaries, a script):"
echo "   sandboxed steps, SBOM, scans, the policy gate, every executable signed (Authenticode"
echo "   inside the .exe), provenance, verdict and SBOM attested, all logged and timestamped"
hallmark build --quiet --source "$repo/examples/hello" -o hello-out
hallmark trust-root --out trusted_root.json --ca-pem ca.pem --tsa-pem tsa.pem
cat > verify.yaml <<'POLICY'
apiVersion: hallmark.dev/verify/v1
kind: VerificationPolicy
key: pub.pem
trustedRoot: trusted_root.json
builder: https://log.hallmark.localhost/builder
embedded: [pe]
POLICY
echo "== a consumer verifies the whole release, offline"
hallmark verify --policy verify.yaml hello-out
if command -v osslsigncode >/dev/null; then
  osslsigncode verify -in hello-out/bin/windows-amd64/hello.exe -CAfile ca.pem -TSA-CAfile tsa.pem -ignore-crl | tail -1
fi
hallmark inspect hello-out/bin/windows-amd64/hello.exe

echo "== rebuilt byte for byte, and the rebuild attested"
hallmark rebuild --quiet hello-out/provenance.sigstore.json --key pub.pem --trusted-root trusted_root.json \
  --source "$repo/examples/hello" --original hello-out -o hello-again

echo "== a changed file must fail (exit 1)"
echo "hello, tampered" > hello.txt
if hallmark verify --key pub.pem --trusted-root trusted_root.json --bundle hello.txt.sigstore.json hello.txt; then
  echo "quickstart: a tampered file verified" >&2
  exit 1
fi
echo "== quick start done"
