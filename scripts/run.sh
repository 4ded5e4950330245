#!/usr/bin/env bash
# Runs streamserver from this checkout: installs missing build packages, builds in release
# mode and starts the server with ./config.toml (the built-in test pattern unless the config
# says otherwise). Extra arguments go to streamserver, e.g.
#   scripts/run.sh --listen 127.0.0.1:8080
#   scripts/run.sh --source test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cargo build --release --locked
exec target/release/streamserver --config config.toml "$@"
