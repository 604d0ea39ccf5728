"""Staff rules as CEL expressions (cel-python): no arbitrary code, only the documented context.

An expression is compiled once per policy version and evaluated against plain JSON data built by
``catalog.evaluation``; ``true`` means the subject passes. The context, by policy subject:

``system``  ``system`` (slug, name, risk_tier, annex_iii_area, status, provider, deployer,
            allowed_jurisdictions, log_retention_days), ``datasets`` (list of upstream datasets,
            see below), ``jobs`` (list: node, namespace, name, latest_state, roles), ``energy``
            (kwh, kg_co2e, accelerator_hours, runs), ``open_findings`` (int)
``dataset`` ``system`` as above and ``dataset``: node, namespace, name, depth, roles,
            jurisdiction, license, origin, legal_basis, retention, classifications (list, incl.
            column classifications), columns (map column → list of classifications),
            personal_data (bool), quality_passed (bool or null)
``job``     ``job``: node, namespace, name, latest_state, inputs and outputs (lists of datasets
            as above, without depth), federated (bool)

Missing values are empty strings, empty lists or null, never absent keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import celpy
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELUnsupportedError

from catalog.exceptions import ExpressionInvalid

CONTEXT_NAMES = {
    "system": ("system", "datasets", "jobs", "energy", "open_findings"),
    "dataset": ("system", "dataset"),
    "job": ("job",),
}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    error: str = ""


@lru_cache(maxsize=256)
def _program(expression: str) -> celpy.Runner:
    env = celpy.Environment()
    try:
        ast = env.compile(expression)
    except CELParseError as exc:
        raise ExpressionInvalid(f"the expression does not parse: {str(exc).strip()}") from None
    return env.program(ast)


def expression_compile(expression: str) -> None:
    """Raise ``ExpressionInvalid`` unless the expression is valid CEL."""
    if not expression.strip():
        raise ExpressionInvalid("the expression is empty")
    _program(expression)


def expression_evaluate(expression: str, context: dict[str, Any]) -> Outcome:
    """Evaluate against JSON-like data; a non-boolean result or an evaluation error fails it."""
    program = _program(expression)
    try:
        result = program.evaluate(celpy.json_to_cel(context))
    except (CELEvalError, CELUnsupportedError, TypeError, ValueError, KeyError) as exc:
        return Outcome(passed=False, error=f"evaluation failed: {exc.args[0] if exc.args else exc}")
    if isinstance(result, CELEvalError):
        return Outcome(passed=False, error=f"evaluation failed: {result.args[0] if result.args else result}")
    if not isinstance(result, celpy.celtypes.BoolType):
        return Outcome(passed=False, error=f"the expression gave {type(result).__name__}, not a boolean")
    return Outcome(passed=bool(result))
