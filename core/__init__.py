"""What every other package builds on: settings, payload encryption and the data converter, the Temporal client
and the database engine. It imports nothing of ours from above it (store/, activities/, workflows/, api/,
cli/, worker/), so each of those imports downwards."""
