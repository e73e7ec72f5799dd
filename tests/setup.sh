#!/bin/sh
# Installs everything the build, the demo and the test suite need on a
# Debian machine, as root: Debian packages with apt-get (skipped when all
# are present) and the npm test servers into tests/node_modules.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

packages="build-essential pkg-config ca-certificates curl
  libcurl4-openssl-dev libssl-dev zlib1g-dev libbz2-dev liblzma-dev liblz4-dev
  libzstd-dev libsnappy-dev libjansson-dev libpq-dev libarchive-dev
  libnghttp2-dev libprotobuf-c-dev libyaml-dev protobuf-c-compiler python3-grpcio python3-grpc-tools
  postgresql postgresql-contrib barman-cli-cloud python3-snappy python3-boto3 python3-crcmod
  python3-cryptography python3-jsonpatch python3-jsonschema
  bats mandoc gzip bzip2 xz-utils lz4 zstd time"
# Node.js may come from elsewhere than Debian; ask apt only if it is missing.
command -v node >/dev/null && command -v npm >/dev/null || packages="$packages nodejs npm"
# kubectl (for `kubectl kustomize` of deploy/): Debian's kubernetes-client when none is installed.
command -v kubectl >/dev/null || packages="$packages kubernetes-client"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "setup: run as root (apt-get needs it), or install:$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x "$here/node_modules/.bin/s3rver" ] || [ ! -x "$here/node_modules/.bin/azurite-blob" ] ||
    [ ! -d "$here/node_modules/@azure/storage-blob" ]; then
    echo "setup: installing test servers with npm into tests/node_modules"
    (cd "$here" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null)
fi
