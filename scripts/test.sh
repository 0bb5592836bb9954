#!/usr/bin/env bash
# Install the project with its test tools and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
# Browser tests drive Debian's chromium (Playwright's own browser download cannot run here);
# the CJK fonts make Chinese render in their screenshots; espeak-ng is the kiosk's Mandarin voice.
if { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] || ! command -v espeak-ng >/dev/null; } \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing Debian's chromium, CJK fonts and espeak-ng for the kiosk tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk espeak-ng >/dev/null) \
        || echo "test: could not install them; browser and voice tests will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
