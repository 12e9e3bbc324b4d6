#!/usr/bin/env bash
# Installs the system tools the platform needs when they are missing: Python 3.11 with
# venv, Node.js and npm, redis-server (the test of rate limits shared by several
# processes starts one), postgresql (the test of several backend processes starts a
# throwaway cluster), chromium and fonts-noto-cjk (the browser tests) — Debian packages;
# needs root, as on CI and dev machines.
set -euo pipefail
missing=()
command -v python3.11 >/dev/null || missing+=(python3.11 python3.11-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v redis-server >/dev/null || missing+=(redis-server)
# Debian keeps initdb/pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# the browser tests (tests/browser) drive Debian's chromium through Playwright, never a browser
# `playwright install` downloads; the pages are in Chinese: a CJK font, or they render as boxes
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
