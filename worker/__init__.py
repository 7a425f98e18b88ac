"""Process wiring for the MAPPA case service: settings, binaries, converter and the dev stack."""
