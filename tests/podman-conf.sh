# podman-conf.sh - the private Podman configuration and the reporting of the
# Podman tests (sourced by tests/integration/test-podman.sh and
# tests/vm/podman-rootless.sh).
#
# podman_conf DIR MDRUN CGROUP_MANAGER [CONTAINERS_LINES]
#   writes DIR/containers.conf (no network, file events, mdrun as the only
#   runtime, with runtime_supports_json so that Podman reads its JSON log;
#   everything Podman keeps under DIR) and DIR/storage.conf (vfs under DIR).
#   CONTAINERS_LINES go into the [containers] table.
#
# ok WHAT / check WHAT COMMAND...: the tests' reporting.  check runs the
#   command (a test on $rc, $out, $err, which the caller's Podman wrapper
#   sets along with $last, the call) and says ok, or FAIL with that call and
#   its output, counted in $failures.  $who labels each line.
podman_conf() {
    local dir=$1 mdrun=$2 manager=$3 extra=${4:-}
    cat >"$dir/containers.conf" <<CONF
[containers]
netns = "none"
$extra

[engine]
# The image is imported: never pull anything.
pull_policy = "never"
runtime = "mdrun"
runtime_supports_json = ["mdrun"]
cgroup_manager = "$manager"
events_logger = "file"
tmp_dir = "$dir/tmp"
image_copy_tmp_dir = "$dir/tmp"
volume_path = "$dir/volumes"

[engine.runtimes]
mdrun = ["$mdrun"]

[network]
network_config_dir = "$dir/networks"
CONF
    cat >"$dir/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$dir/graph"
runroot = "$dir/run"
rootless_storage_path = "$dir/graph"
CONF
}

ok() { echo "ok - $who: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then
        ok "$what"
        return 0
    fi
    echo "FAIL - $who: $what"
    echo "    last call: ${last[*]}"
    echo "    exit status: $rc"
    printf '%s\n' "$out" | head -20 | sed 's/^/    stdout: /'
    printf '%s\n' "$err" | head -20 | sed 's/^/    stderr: /'
    failures=$((failures + 1))
    return 1
}
