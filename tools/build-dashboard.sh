#!/bin/sh
# Build the dashboard's static export (dashboard/out) when Node >= 20 is here.
#   node_modules: `npm ci`, again only when package-lock.json's hash changes;
#   the build: again only when the lock or a source file changes, kept in
#   ~/.cache/llm-gateway/dashboard/<hash> so a fresh clone (CI) reuses it; a changed API
#   document (the generated types) is type-checked against the sources instead.
# Exits 0 with dashboard/out in place; 3 when Node is missing or older than 20 (the
# gateway then serves without /ui/). Needs the Python environment (.venv) for the API types.
set -e
cd "$(dirname "$0")/../dashboard"
export NEXT_TELEMETRY_DISABLED=1

if ! command -v node >/dev/null 2>&1; then
    echo "dashboard: Node.js is not installed; serving the gateway without /ui/" >&2
    exit 3
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "dashboard: Node.js $(node --version) is older than 20; serving the gateway without /ui/" >&2
    exit 3
fi

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

lock_hash=$(hash_of package-lock.json)
if [ "$(cat node_modules/.lock-hash 2>/dev/null)" != "$lock_hash" ]; then
    echo "dashboard: installing its packages (npm ci; once per package-lock.json)" >&2
    npm ci --no-audit --no-fund --prefer-offline --loglevel=error >&2
    echo "$lock_hash" > node_modules/.lock-hash
fi

../.venv/bin/llm-proxy openapi > openapi.json.new
if cmp -s openapi.json.new openapi.json; then rm openapi.json.new; else mv openapi.json.new openapi.json; fi
if [ ! -f lib/api/schema.d.ts ] || [ openapi.json -nt lib/api/schema.d.ts ]; then
    npm run --silent types >&2
fi

sources=$(find app components lib -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' \) ! -name '*.test.*' ! -name schema.d.ts | sort)
# The API types shape no byte of the output: a changed API document needs a type check
# (seconds), not a rebuild (minutes).
build_hash=$(hash_of package-lock.json next.config.ts postcss.config.mjs tsconfig.json $sources)
types_hash=$(hash_of openapi.json tsconfig.json $sources)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/llm-gateway/dashboard/$build_hash"
if [ "$(cat out/.build-hash 2>/dev/null)" != "$build_hash" ] && [ -f "$cache/.build-hash" ]; then
    rm -rf out && cp -R "$cache" out
    echo "dashboard: build $build_hash from the cache" >&2
fi
if [ "$(cat out/.build-hash 2>/dev/null)" = "$build_hash" ]; then
    if [ "$(cat out/.types-hash 2>/dev/null)" != "$types_hash" ]; then
        echo "dashboard: the API document changed; checking the dashboard's types" >&2
        npx tsc --noEmit -p tsconfig.json >&2
        echo "$types_hash" > out/.types-hash
    fi
    exit 0
fi
echo "dashboard: building (next build; again only when its sources change)" >&2
npx next build >&2
echo "$build_hash" > out/.build-hash
echo "$types_hash" > out/.types-hash
mkdir -p "$(dirname "$cache")" && rm -rf "$cache" && cp -R out "$cache"
