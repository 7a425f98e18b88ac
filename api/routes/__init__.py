"""One router per area of the API: cases (agency events and reads), deadlines (calculator), health."""
