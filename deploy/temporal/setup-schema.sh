#!/bin/sh
# Create or upgrade Temporal's two PostgreSQL databases (run by docker-compose.yml's temporal-schema
# service on every `up`). temporal-sql-tool reads the password from SQL_PASSWORD.
set -eu

until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
  echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"
  sleep 2
done

setup() {
  database=$1
  schema_dir=/etc/temporal/schema/postgresql/v12/$2/versioned
  sql_tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $DB_PORT -u $POSTGRES_USER --db $database"
  # After the first `up` the database and its base schema exist, so these two may fail harmlessly;
  # update-schema is the step that must succeed, and it fails loudly if the database is unusable.
  $sql_tool create || echo "database $database already exists"
  $sql_tool setup-schema -v 0.0 || echo "database $database already has a base schema"
  $sql_tool update-schema -d "$schema_dir"
}

setup temporal temporal
setup temporal_visibility visibility
echo "Temporal schemas are up to date"
