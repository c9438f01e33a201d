#!/bin/sh
# Creates bench/.venv-litellm: the stock LiteLLM proxy, the benchmark's baseline, kept out of
# the project's lock. Every package is pinned with hashes (bench/litellm-proxy-requirements.txt).
# Regenerate the requirements with:
#   .tools/bin/uv pip compile --python-version 3.11 \
#     --python-platform x86_64-unknown-linux-gnu --generate-hashes \
#     --custom-compile-command "bench/setup_litellm.sh (see its header)" \
#     bench/litellm-proxy-requirements.in -o bench/litellm-proxy-requirements.txt
set -eu
# Without it `import litellm` fetches a price list from the internet (DESIGN.md).
export LITELLM_LOCAL_MODEL_COST_MAP=True
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-litellm"
python="${PYTHON:-python3}"
marker="$venv/.installed-$(sha256sum "$here/litellm-proxy-requirements.txt" | cut -c1-16)"
if [ -e "$marker" ]; then
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --require-hashes --no-deps \
    -r "$here/litellm-proxy-requirements.txt"
"$venv/bin/litellm" --help >/dev/null
# Written last, so an interrupted install (or changed requirements) is redone on the next run.
touch "$marker"
