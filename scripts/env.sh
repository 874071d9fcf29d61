# Shared by the scripts: the project's Python tools and a moto server on loopback.
# Source it; it defines functions and changes nothing until they are called.

project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$project_root/.venv"
# The SAM CLI sends no usage data from here.
export SAM_CLI_TELEMETRY=0

# Creates the virtual environment $1 (default .venv) and installs the requirements file $2 (default
# scripts/requirements.txt) into it, again only when that file changes.
ensure_venv() {
    local env="$project_root/${1:-.venv}"
    local requirements="$project_root/${2:-scripts/requirements.txt}"
    local stamp="$env/.requirements"
    if [[ -f "$stamp" ]] && cmp -s "$requirements" "$stamp"; then
        return
    fi
    echo "Installing $(basename "$requirements") into $env ..." >&2
    python3 -m venv "$env" || { echo "python3 -m venv failed: install python3 with venv support" >&2; return 1; }
    "$env/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$env/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
}

# Starts moto on a free loopback port, waits until it answers and points the AWS SDK at it with
# dummy credentials. stop_moto (also run on exit) stops it.
start_moto() {
    local port
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    moto_log="$(mktemp -t moto.XXXXXX.log)"
    "$venv/bin/python" "$project_root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
    trap stop_moto EXIT
    trap 'exit 130' INT TERM
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-central-1 AWS_DEFAULT_REGION=eu-central-1
    export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
    "$venv/bin/python" - "$AWS_ENDPOINT_URL" <<'PY' || { echo "moto did not start; its log:" >&2; cat "$moto_log" >&2; return 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
    echo "moto listens on $AWS_ENDPOINT_URL" >&2
}

stop_moto() {
    if [[ -n "${moto_pid:-}" ]]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
        moto_pid=
    fi
}
