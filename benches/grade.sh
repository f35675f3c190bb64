#!/usr/bin/env bash
# Grades the rendered deployment from outside: real nginx with the files of
# `keel deploy render` on ports 80 and 443 (run as root, with nothing else
# on them), two Keel instances on PostgreSQL and Redis, then testssl.sh and
# Mozilla's HTTP Observatory scanner against https://localhost/.
#
#   sudo benches/grade.sh
#
# Also prints the systemd exposure score of the rendered instance unit and
# the request counts of the kill -9 and rolling-restart test.
#
# Needs: nginx and testssl.sh (Debian packages), the scanner from npm (this
# script installs it under /opt/keel-ci/observatory without its post-install
# downloads, which reach beyond the registries: the scanner is given the
# site's own certificate through NODE_EXTRA_CA_CERTS instead of Mozilla's
# bundle), PostgreSQL and Redis running.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v testssl >/dev/null || { apt-get update -qq && apt-get install -y -qq testssl.sh nginx-light >/dev/null; }
scanner=/opt/keel-ci/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js
if [ ! -f "$scanner" ]; then
  mkdir -p /opt/keel-ci/observatory
  (cd /opt/keel-ci/observatory && npm init -y >/dev/null && npm install --silent --ignore-scripts @mdn/mdn-http-observatory@1)
  # What the skipped post-install would download: Chromium's HSTS preload
  # list (localhost is not on it) and IANA's TLDs (unused by the scanner).
  conf=/opt/keel-ci/observatory/node_modules/@mdn/mdn-http-observatory/conf
  echo '{}' > "$conf/hsts-preload.json"
  echo '[]' > "$conf/tld-list.json"
fi

export KEEL_TEST_REQUIRE_SERVICES=1
# The instance unit's sandbox, as systemd-analyze security scores it.
cargo test --workspace --test deploy_render -- --nocapture systemd_verifies 2>&1 | grep -E "systemd-analyze|test result"
# Failed requests through kill -9 and a rolling restart, under load.
cargo test --workspace --test deploy_e2e -- --nocapture no_request_fails 2>&1 | grep -E "requests sent|test result"
# testssl.sh and the HTTP Observatory.
KEEL_OBSERVATORY="$scanner" \
  cargo test --workspace --test deploy_e2e -- --ignored --nocapture the_rendered_site_grades_well_from_outside
