#!/usr/bin/env bash
# npm run lint: shellcheck over every shell program the project keeps (by name or by its
# #! line), then ESLint over the TypeScript (eslint.config.mjs). Extra arguments go to
# ESLint (`npm run lint -- --fix` lays the code out). Exits non-zero on any finding.
set -euo pipefail
if [ "${1:-}" = --help ]; then echo "usage: scripts/lint.sh [--fix] [other ESLint flags]"; exit 0; fi
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "lint: shellcheck is not installed; run: bash scripts/setup.sh lint" >&2; exit 1; }
shell_files=()
while IFS= read -r f; do
  case "$f" in
    *.sh) shell_files+=("$f") ;;
    *.*|providers/*|scripts/toolchain/*) ;;
    *) [ -f "$f" ] && head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && shell_files+=("$f") ;;
  esac
done < <(git ls-files --cached --others --exclude-standard)
# Warnings and errors; the style notes (quoting meant to split, A && B || C) are left to review.
shellcheck --severity=warning "${shell_files[@]}"
echo "lint: shellcheck clean (${#shell_files[@]} files)"
npx eslint --max-warnings 0 "$@" .
echo "lint: eslint clean"
