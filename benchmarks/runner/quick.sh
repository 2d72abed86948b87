#!/bin/sh
# The committed quick run: results, report, a headless-Chromium screenshot of the report and one of
# its plots as a PNG for the README.
#     sh benchmarks/runner/quick.sh
set -e
OUT=benchmarks/runner/quick
if [ "$1" != "--report-only" ]; then     # --report-only: redraw the report from the committed results
  rm -rf "$OUT"
  OMP_NUM_THREADS=1 genprior bench quick --out "$OUT" --threads 1 --no-progress
fi
genprior report "$OUT"
python - "$OUT" <<'PY'
import base64, re, sys
html = open(sys.argv[1] + "/report.html").read()
# the deblur_gauss / fashion quality-vs-cost plot (the 2nd figure of the deblur_gauss section)
sec = html[html.index('id="deblur-gauss"'):]
alt = "deblur_gauss / fashion: quality against cost"
m = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="' + re.escape(alt), sec)
open(sys.argv[1] + "/pareto_deblur_gauss_fashion.png", "wb").write(base64.b64decode(m.group(1)))
PY
if command -v chromium >/dev/null; then
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1800 \
    --screenshot="$OUT/report_screenshot.png" "file://$(pwd)/$OUT/report.html" 2>/dev/null
fi
