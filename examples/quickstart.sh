#!/usr/bin/env bash
# The quick start: builds hallmark, makes a signing key in a throwaway data
# directory (the embedded default: a local file keystore), signs a file and an
# attestation about it, verifies both, and shows that a changed file fails.
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

echo "== verify (no transparency log yet, so --insecure-ignore-tlog)"
hallmark verify --key pub.pem --insecure-ignore-tlog hello.txt
hallmark verify --key pub.pem --insecure-ignore-tlog --bundle hello.txt.intoto.sigstore.json hello.txt

echo "== a changed file must fail (exit 1)"
echo "hello, tampered" > hello.txt
if hallmark verify --key pub.pem --insecure-ignore-tlog --bundle hello.txt.sigstore.json hello.txt; then
  echo "quickstart: a tampered file verified" >&2
  exit 1
fi
echo "== quick start done"
