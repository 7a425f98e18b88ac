"""One router per area of the API: cases (agency events and reads), minutes (and their disclosures), audit,
codec (the Temporal UI's), deadlines (calculator), health."""
