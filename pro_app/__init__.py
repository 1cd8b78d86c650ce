"""pro-app: patient-reported outcomes for clinical trials.

Kept empty on purpose, so ``pro_app.catalog`` and ``pro_app.scoring`` import
without Flask or SQLAlchemy.
"""
