#!/bin/sh
# timeline-screenshot.sh TRACE.json OUT.png [PROFILES] - render a `gprof-cli export --type
# chrome-json` trace the way a person would look at it: speedscope (npm) in headless
# Chromium (Debian `chromium`), driven by puppeteer-core (npm), one screenshot of the first
# thread and, with PROFILES = N, of the next N threads or GPU streams too (OUT-2.png, ...).
# Needs node, npm, python3 (a local web server for the page and the trace) and chromium;
# the npm packages go to $TIMELINE_SHOT_DIR (default /tmp/gprof-timeline-shot), fetched
# once.  Used for bench/RESULTS.md (issue 14); not part of make check.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 TRACE.json OUT.png [PROFILES]" >&2; exit 2; }
trace=$(realpath "$1")
png=$(realpath -m "$2")
more=${3:-0}
dir=${TIMELINE_SHOT_DIR:-/tmp/gprof-timeline-shot}
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "$0: chromium not found (apt-get install chromium)" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/speedscope" ] || [ ! -d "$dir/node_modules/puppeteer-core" ]; then
	(cd "$dir" && npm install --silent speedscope puppeteer-core >/dev/null)
fi
cp "$trace" "$dir/trace.json"
cat >"$dir/shot.js" <<'JS'
const puppeteer = require('puppeteer-core');
(async () => {
  const [, , chromium, port, png, more] = process.argv;
  const browser = await puppeteer.launch({executablePath: chromium, headless: 'new',
    args: ['--no-sandbox', '--disable-gpu']});
  const page = await browser.newPage();
  await page.setViewport({width: 1600, height: 900});
  const base = 'http://127.0.0.1:' + port + '/';
  await page.goto(base + 'node_modules/speedscope/dist/release/index.html#profileURL=' + base +
                  'trace.json&title=gprof-cli', {waitUntil: 'domcontentloaded'});
  await new Promise(r => setTimeout(r, 4000));
  await page.screenshot({path: png});
  for (let i = 0; i < +more; i++) {
    await page.keyboard.press('n');  /* speedscope: next profile (thread) */
    await new Promise(r => setTimeout(r, 1500));
    await page.screenshot({path: png.replace(/\.png$/, '') + '-' + (i + 2) + '.png'});
  }
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
JS
port=$((20000 + $$ % 20000))
(cd "$dir" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null' EXIT
sleep 1
(cd "$dir" && node shot.js "$chromium" "$port" "$png" "$more")
echo "$png"
