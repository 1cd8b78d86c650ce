"""The demo study: the NCT06737380 trial with one participant ready to answer.

The timepoints here are a demonstration schedule, not the protocol's schedule
of assessments.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.participants.models import Participant
from pro_app.participants.services import issue_link
from pro_app.studies.models import Study
from pro_app.studies.services import TimepointSpec, create_study, enrol

DEMO_CODE = "NCT06737380"
DEMO_SUBJECT = "LK-001"
ACTOR = "system:demo"
PROS = (("rand36", "1.0"), ("promis29", "2.1"), ("promis_global", "1.2"))
# Demonstration schedule: baseline before the Day 0 infusion, then follow-up.
DEMO_TIMEPOINTS = [
    TimepointSpec("BL", "Baseline", -3, 14, 3, PROS),
    TimepointSpec("W4", "Week 4", 28, 7, 7, PROS),
    TimepointSpec("W12", "Week 12", 84, 7, 7, PROS),
    TimepointSpec("W24", "Week 24", 168, 14, 14, PROS),
    TimepointSpec("W52", "Week 52", 364, 14, 14, PROS),
]


def load_demo(
    session: Session, *, today: date, link_days: int
) -> tuple[Participant, str]:
    """Create the demo study and participant if absent; issue a fresh link.

    The participant's Day 0 is two days from ``today``, so the baseline
    questionnaires are open now.
    """
    study = session.scalar(select(Study).where(Study.code == DEMO_CODE))
    if study is None:
        study = create_study(
            session,
            code=DEMO_CODE,
            title=(
                "Umbilical cord mesenchymal stem cells in systemic lupus "
                "erythematosus (phase 1, open label) - demo"
            ),
            registry_id=DEMO_CODE,
            timezone="Asia/Jerusalem",
            sites=[("01", "Demo site")],
            timepoints=DEMO_TIMEPOINTS,
            actor=ACTOR,
        )
    participant = session.scalar(
        select(Participant).where(
            Participant.study_id == study.id, Participant.subject_id == DEMO_SUBJECT
        )
    )
    if participant is None:
        participant = enrol(
            session,
            study,
            site=study.sites[0],
            subject_id=DEMO_SUBJECT,
            day0=today + timedelta(days=2),
            timezone=study.timezone,
            language=None,
            actor=ACTOR,
        )
    token = issue_link(session, participant, valid_days=link_days, actor=ACTOR)
    return participant, token
