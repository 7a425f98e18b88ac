"""The core's refusals: an event the case cannot take, named in a co-ordinator's words.

The API maps each to a problem (4xx) naming the rule and the field; nothing above the core re-states a rule.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["wrong-stage", "rule-violation", "not-responsible", "already-recorded"]


class CaseRuleError(Exception):
    """An event the case cannot take. `rule` names the rule in words a co-ordinator uses."""

    kind: Kind = "rule-violation"

    def __init__(self, message: str, rule: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


class WrongStage(CaseRuleError):
    kind: Kind = "wrong-stage"


class RuleViolation(CaseRuleError):
    kind: Kind = "rule-violation"


class NotResponsible(CaseRuleError):
    """The sender may not do this: another role's action, or another agency's deadline (the API answers 403)."""

    kind: Kind = "not-responsible"


class AlreadyRecorded(CaseRuleError):
    """What the event records is already recorded, once and for good (the API answers 409)."""

    kind: Kind = "already-recorded"
