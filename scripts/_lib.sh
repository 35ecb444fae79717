# Shared by the scripts: paths and the virtualenv. Source it; do not run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BALROG_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
WHEELS=(balrog-core balrog-pg balrog-http balrog-ws balrog-django)
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
