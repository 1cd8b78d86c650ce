"""Datasets out of the database: one query, many formats.

``services`` reads the completed submissions of a study once per pass, as a
stream of ``layout.SubmissionRecord``; every format in ``formats`` is a
writer over that stream, so two formats can never disagree about the data.
``layout``, ``writers``, ``codebook`` and ``archive`` are pure (no Flask, no
SQLAlchemy); docs/exports.md describes the formats and the design.
"""
