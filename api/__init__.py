"""The thin HTTP edge of the MAPPA case system: FastAPI app, authorisation, problem details, routers."""
