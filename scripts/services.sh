#!/usr/bin/env bash
# Makes sure the services the scale-out tests talk to are answering on this
# machine: Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (trust
# auth for user postgres, database `test`). Starts whichever is down and
# installs it with apt-get (redis-server, postgresql) when it is missing.
# Idempotent: on a machine where both answer it changes nothing.
#
#   bash scripts/services.sh
#
# REDIS_PORT and PG_PORT override the ports (default 6379 and 5432).
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
PG_PORT="${PG_PORT:-5432}"
WAIT_SECONDS=30
apt_updated=false

log() { echo "services.sh: $*"; }

apt_install() {
  if ! command -v apt-get >/dev/null; then
    log "cannot install $* (no apt-get); install it by hand" >&2
    exit 1
  fi
  if [ "$apt_updated" = false ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=true
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# wait_for DESCRIPTION COMMAND...: retries COMMAND once a second, at most WAIT_SECONDS times.
wait_for() {
  local what="$1"
  shift
  for _ in $(seq "$WAIT_SECONDS"); do
    if "$@" >/dev/null 2>&1; then
      log "$what is answering"
      return 0
    fi
    sleep 1
  done
  log "$what did not answer within ${WAIT_SECONDS}s" >&2
  return 1
}

redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server
  fi
  if redis_answers; then
    log "Redis on 127.0.0.1:$REDIS_PORT is answering"
    return
  fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for "Redis on 127.0.0.1:$REDIS_PORT" redis_answers
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }
psql_postgres() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "$1"; }

ensure_postgres() {
  local installed=false
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_version)" ]; then
    apt_install postgresql
    installed=true
  fi
  local version
  version="$(pg_version)"
  if [ "$installed" = true ]; then
    # A fresh Debian cluster asks TCP clients for a password; the tests (like
    # this machine's services) connect as postgres without one, locally only.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      log "allowing local TCP connections without a password ($hba)"
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
  fi
  if pg_answers; then
    log "PostgreSQL on 127.0.0.1:$PG_PORT is answering"
  else
    log "starting PostgreSQL $version (cluster main)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" pg_answers
  fi
  if [ "$installed" = true ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  fi
  wait_for "PostgreSQL login as postgres" psql_postgres 'select 1'
  if [ "$(psql_postgres "select 1 from pg_database where datname = 'test'")" != "1" ]; then
    log "creating database test"
    psql_postgres 'create database test'
  fi
}

ensure_redis
ensure_postgres
log "ready"
