# Shared by the scripts: steps that say what they do and how long they took, jobs that build in the
# background, the project's Python tools and a moto server on loopback.
# Source it; it defines functions and changes nothing until they are called.

project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$project_root/.venv"
# Background jobs write their output here, one file a job.
job_logs="$project_root/target/logs"
# The SAM CLI sends no usage data from here.
export SAM_CLI_TELEMETRY=0

started_at=$SECONDS
step_name=""
step_started=0
step_rows=()
declare -A job_pid=()

# The time since the command started, as m:ss.
clock() {
    local elapsed=$((SECONDS - started_at))
    printf '%d:%02d' $((elapsed / 60)) $((elapsed % 60))
}

# Starts a step: prints its heading with the time so far, and ends the step before it.
step() {
    end_step
    step_name="$1"
    step_started=$SECONDS
    printf '\n==> [%s] %s\n' "$(clock)" "$step_name" >&2
}

end_step() {
    if [[ -n "$step_name" ]]; then
        step_rows+=("$step_name"$'\t'"$((SECONDS - step_started))")
        step_name=""
    fi
}

# Prints each step's seconds and the total, as the table in docs/testing.md has them.
step_table() {
    end_step
    printf '\n%-90s %8s\n' "step" "seconds" >&2
    local row
    for row in "${step_rows[@]}"; do
        printf '%-90s %8s\n' "${row%%$'\t'*}" "${row##*$'\t'}" >&2
    done
    printf '%-90s %8s\n' "total" "$((SECONDS - started_at))" >&2
}

# start_job NAME [--nice] COMMAND...: runs COMMAND (a function or a program) in the background, its output
# in target/logs/NAME.log. --nice gives it only the CPU the foreground leaves idle, so a build can fill the
# time the tests spend waiting without slowing them. finish_job NAME waits for it.
start_job() {
    local name="$1"
    shift
    local nice=0
    if [[ "$1" == "--nice" ]]; then
        nice=19
        shift
    fi
    mkdir -p "$job_logs"
    rm -f "$job_logs/$name.seconds"
    # Job control gives the job a process group of its own, so stop_jobs can end it with all its children.
    set -m
    (
        if ((nice != 0)); then
            renice -n "$nice" -p "$BASHPID" >/dev/null
        fi
        started=$SECONDS
        # Its own subshell with errexit, so the job stops at its first failing command (errexit is off
        # inside anything run as `cmd || ...`).
        set +e
        (
            set -e
            "$@"
        )
        status=$?
        # The job's own time, which finish_job reports: it may end long before anything waits for it.
        echo $((SECONDS - started)) >"$job_logs/$name.seconds"
        exit "$status"
    ) >"$job_logs/$name.log" 2>&1 </dev/null &
    job_pid[$name]=$!
    set +m
    printf '    [%s] started in the background: %s (log: target/logs/%s.log)\n' "$(clock)" "$name" "$name" >&2
}

# Gives the rest of the current job only the CPU the foreground leaves idle (what --nice does from the start).
lower_priority() {
    renice -n 19 -p "$BASHPID" >/dev/null
}

# Waits for the background job NAME, printing its latest line every 20 s meanwhile; on failure prints
# the end of its log and returns its status.
finish_job() {
    local name="$1"
    local pid="${job_pid[$name]}"
    local log="$job_logs/$name.log"
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited % 20 == 0)); then
            printf '    [%s] waiting for %s: %s\n' "$(clock)" "$name" "$(last_line "$log")" >&2
        fi
        sleep 1
        waited=$((waited + 1))
    done
    local status=0
    wait "$pid" || status=$?
    unset "job_pid[$name]"
    local seconds
    seconds="$(cat "$job_logs/$name.seconds" 2>/dev/null || echo "?")"
    printf '    [%s] %s took %s s in the background\n' "$(clock)" "$name" "$seconds" >&2
    step_rows+=("  in the background: $name"$'\t'"$seconds")
    if ((status != 0)); then
        echo "$name failed (exit $status); the end of target/logs/$name.log:" >&2
        tail -n 60 "$log" >&2
    fi
    return "$status"
}

# The last line a log holds that is not blank, cut to fit a terminal line.
last_line() {
    tr '\r' '\n' <"$1" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c 1-110
}

# Ends every background job still running, with its children.
stop_jobs() {
    local name
    for name in "${!job_pid[@]}"; do
        kill -- "-${job_pid[$name]}" 2>/dev/null || true
    done
}

# Creates the virtual environment $1 (default .venv) and installs the requirements file $2 (default
# scripts/requirements.txt) into it, again only when that file changes. Safe to call from several jobs
# at once: the second waits for the first and then finds it done.
ensure_venv() {
    local env="$project_root/${1:-.venv}"
    local requirements="$project_root/${2:-scripts/requirements.txt}"
    local stamp="$env/.requirements"
    mkdir -p "$project_root/target"
    (
        flock 9
        if [[ -f "$stamp" ]] && cmp -s "$requirements" "$stamp"; then
            exit 0
        fi
        echo "Installing $(basename "$requirements") into ${env#"$project_root"/} ..." >&2
        python3 -m venv "$env" || { echo "python3 -m venv failed: install python3 with venv support" >&2; exit 1; }
        "$env/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        # A line a package as pip collects it, so a first install shows that it moves; all of pip's
        # output if it fails.
        local output="$project_root/target/$(basename "$env").pip.log"
        set +e +o pipefail
        "$env/bin/python" -m pip install --disable-pip-version-check --progress-bar off --no-compile \
            -r "$requirements" 2>&1 |
            tee "$output" | grep --line-buffered '^Collecting' >&2
        pip_status="${PIPESTATUS[0]}"
        set -e -o pipefail
        if [[ "$pip_status" != 0 ]]; then
            cat "$output" >&2
            exit 1
        fi
        cp "$requirements" "$stamp"
    ) 9>"$project_root/target/$(basename "$env").lock"
}

# Ends the background jobs and moto, and prints the steps' seconds if the command had steps; the scripts
# run it on exit, also on failure or Ctrl-C.
clean_up() {
    stop_jobs
    stop_moto
    if [[ -n "$step_name" || ${#step_rows[@]} -gt 0 ]]; then
        step_table
    fi
}
trap clean_up EXIT
trap 'exit 130' INT TERM

# Starts moto on a free loopback port, waits until it answers and points the AWS SDK at it with
# dummy credentials. stop_moto (also run on exit) stops it.
start_moto() {
    local port
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    moto_log="$(mktemp -t moto.XXXXXX.log)"
    "$venv/bin/python" "$project_root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
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
