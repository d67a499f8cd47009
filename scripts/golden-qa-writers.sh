#!/usr/bin/env bash
# Regenerates the golden files of the QA header writer and previews
# (testdata/header/) with astropy/numpy as the independent reference:
#   1. astropy writes testdata/header/input.fits and the cards to add;
#   2. our writer annotates it (the header_golden test, in bless mode);
#   3. astropy re-opens the result, verifies it and records what it reads;
#   4. astropy's ZScaleInterval computes limits of generated arrays.
# Usage: scripts/golden-qa-writers.sh   (from anywhere; needs python3 and cargo)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/scripts/.venv-header"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "astropy==8.0.2" "numpy==2.4.6"
fi
"$venv/bin/python" "$root/scripts/golden_qa_writers.py" inputs "$root/testdata/header"
VLASS_QA_BLESS_GOLDEN=1 cargo test --quiet -p vlass-qa --test header_golden
"$venv/bin/python" "$root/scripts/golden_qa_writers.py" check "$root/testdata/header"
cargo test --quiet -p vlass-qa --test header_golden --test preview_render
