# shellcheck shell=bash
# Create or refresh the project's virtualenv at $ROOT/.venv.
#
# The venv is rebuilt only when pyproject.toml changed since the last install, so
# repeated runs cost a hash. Every dependency is pinned in pyproject.toml.

ensure_venv() {
  local root=$1
  local venv="$root/.venv"
  local stamp="$venv/.pyproject.sha256"
  local want
  want=$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "python: installing pinned dependencies into $venv" >&2
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "python: could not create $venv" >&2; return 1; }
  fi
  "$venv/bin/pip" install --quiet --upgrade "pip==24.3.1" >&2 &&
    "$venv/bin/pip" install --quiet -e "$root[test]" >&2 ||
    { echo "python: pip install failed; see the output above" >&2; return 1; }
  echo "$want" > "$stamp"
}
