#!/bin/sh
# The official postgres image's first start, for Debian's PostgreSQL: an empty PGDATA is initialised
# for POSTGRES_USER with POSTGRES_PASSWORD, POSTGRES_DB is created, and /docker-entrypoint-initdb.d's
# *.sql, *.sql.gz and *.sh run against a server that listens on no port; then the real server starts.
set -eu
if [ "${1:-}" != postgres ]; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'postgres: POSTGRES_PASSWORD must be set (the official image refuses to start without it too)' >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo 'host all all all scram-sha-256' >> "$PGDATA/pg_hba.conf"
  pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
  psql="psql -v ON_ERROR_STOP=1 --no-psqlrc --username=$user"
  if [ "$db" != postgres ]; then $psql --dbname=postgres -c "CREATE DATABASE \"$db\"" >/dev/null; fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "postgres: running $f"; . "$f" ;;
      *.sql) echo "postgres: running $f"; $psql --dbname="$db" -f "$f" ;;
      *.sql.gz) echo "postgres: running $f"; gunzip -c "$f" | $psql --dbname="$db" ;;
      *) ;;
    esac
  done
  pg_ctl -w -m fast stop >/dev/null
  echo 'postgres: init process complete; ready for start up'
fi
exec "$@"
