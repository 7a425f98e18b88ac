#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: the application's own role and database,
# separate from Temporal's.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=mappa_password="$MAPPA_DB_PASSWORD" <<'SQL'
CREATE ROLE mappa LOGIN PASSWORD :'mappa_password';
CREATE DATABASE mappa OWNER mappa;
SQL
