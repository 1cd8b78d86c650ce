"""Pure scoring of patient-reported outcomes, driven by the instrument files.

Nothing here imports Flask, SQLAlchemy or WTForms (a test enforces it), so the
scorer runs the same in the app, in ``flask score`` and in a statistician's script.
"""

from pro_app.scoring.params import ParamError
from pro_app.scoring.registry import METHODS, Method
from pro_app.scoring.result import (
    ALGORITHM_VERSION,
    NOT_SCORABLE,
    OK,
    ScaleScore,
    ScoreSet,
)
from pro_app.scoring.scorer import (
    check_answers,
    default_catalog,
    score_answers,
    validate_params,
)

__all__ = [
    "ALGORITHM_VERSION",
    "METHODS",
    "NOT_SCORABLE",
    "OK",
    "Method",
    "ParamError",
    "ScaleScore",
    "ScoreSet",
    "check_answers",
    "default_catalog",
    "score_answers",
    "validate_params",
]
