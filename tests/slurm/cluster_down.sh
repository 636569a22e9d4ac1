#!/usr/bin/env bash
# Stop the one-node cluster of cluster_up.sh: cancel jobs, stop slurmd, slurmctld and munged.
# Only the processes recorded in the daemons' pidfiles are signalled. Run as root.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
log() { echo "[cluster_down $(date +%T)] $*"; }

alive() { # alive PIDFILE NAME -> prints the pid
  local pid; [ -s "$1" ] || return 1; pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ] && echo "$pid"
}
stop() { # stop PIDFILE NAME; stale pidfiles are removed (the slurmctld package scripts trip on them)
  local pid; pid=$(alive "$1" "$2") || { rm -f "$1"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || { log "stopped $2 (pid $pid)"; rm -f "$1"; return 0; }; sleep 0.5
  done
  log "$2 (pid $pid) ignored SIGTERM for 30 s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

if alive /run/slurmctld.pid slurmctld >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs
    for _ in $(seq 30); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi
stop /run/slurmd.pid slurmd
stop /run/slurmctld.pid slurmctld
stop /run/munge/munged.pid munged
