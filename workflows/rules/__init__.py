"""The pure statutory core: calendar, jurisdiction policies, deadlines and the case state machine.

No Temporal, HTTP or database import lives here or below.
"""
