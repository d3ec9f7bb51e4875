"""DataCamp Data Connector 2.0: the fact tables and dimensions, generated (`create_datacamp`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnsync.catalog.vendor_docs import DATACAMP_FACTS, INT, TEXT, TS, ColumnDoc, TableDoc
from learnsync.emulator.fill import (  # the emulator's own SQL building blocks
    DAY_S,
    FIRST_NAMES,
    Fill,
    LAST_NAMES,
    REF_SQL,
    after_created,
    before,
    create_and_fill,
    created_layers,
    ensure_schema,
    float_sql,
    hashed,
    lit,
    null_if,
    pick,
)


# --------------------------------------------------------------------------------------------------------------
# DataCamp Data Connector

# DataCamp documents no dimension types; these are the columns a sync needs to join the facts
DATACAMP_DIMENSIONS: tuple[TableDoc, ...] = tuple(
    TableDoc(name, description, tuple(ColumnDoc(*c) for c in cols))
    for name, description, cols in (
        (
            "DIM_CONTENT",
            "Content items (courses, projects, practices, assessments).",
            (
                ("CONTENT_ID", INT, "The unique content identifier."),
                ("TITLE", TEXT, "Title of the content."),
                ("CONTENT_TYPE", TEXT, "Kind of content."),
                ("TECHNOLOGY", TEXT, "Technology taught."),
                ("CREATED_AT", TS, "Creation time (UTC)."),
                ("UPDATED_AT", TS, "Last update time (UTC)."),
            ),
        ),
        (
            "DIM_TRACK",
            "Tracks (versions).",
            (
                ("TRACK_VERSION_ID", INT, "The unique track identifier."),
                ("TITLE", TEXT, "Title of the track."),
                ("CREATED_AT", TS, "Creation time (UTC)."),
            ),
        ),
        (
            "DIM_USER",
            "Users.",
            (
                ("USER_ID", INT, "The unique user identifier."),
                ("EMAIL", TEXT, "Email of the user."),
                ("FIRST_NAME", TEXT, "First name."),
                ("LAST_NAME", TEXT, "Last name."),
                ("CREATED_AT", TS, "Creation time (UTC)."),
                ("UPDATED_AT", TS, "Last update time (UTC)."),
            ),
        ),
        (
            "DIM_COURSE_VARIANT",
            "Course variants; no timestamp, so no cursor.",
            (
                ("COURSE_VARIANT_ID", INT, "The course variant identifier."),
                ("NAME", TEXT, "Name of the variant."),
            ),
        ),
        (
            "DIM_CERTIFICATION",
            "Certifications.",
            (
                ("CERTIFICATION_ID", INT, "The unique certification identifier."),
                ("NAME", TEXT, "Name of the certification."),
                ("CREATED_AT", TS, "Creation time (UTC)."),
            ),
        ),
    )
)

_DC_CONTENT, _DC_TRACKS, _DC_CERTS = 120, 20, 6
# DataCamp hard-deletes some content from DIM_CONTENT and keeps its events (its "Domain Gotchas"): the facts
# also reference these ids past the last DIM_CONTENT row
_DC_DELETED_CONTENT = 10
_STARTED = ("course_started", "chapter_started", "assessment_started", "project_started", "track_started")
_ENGAGEMENT = ("course_engagement", "assessment_engaged", "practice_engagement", "project_engagement")
_ASSIGNMENT = (
    "assignment_assigned", "assignment_completed", "assignment_completed_late", "assignment_missed",
    "assignment_unassigned",
)
# DataCamp's fact_learn_events event names (b2b_onboarding_xp_boost stopped in October 2024, before this data)
_LEARN_EVENTS = (
    "course_started", "chapter_started", "chapter_completed", "exercise_completed", "course_engagement",
    "course_engagement", "course_completed", "assessment_started", "assessment_engaged", "assessment_completed",
    "practice_engagement", "practice_completed", "project_started", "project_engagement", "project_completed",
    "track_started", "track_completed", *_ASSIGNMENT, "alpa_onboarding",
)
# course and chapter events carry COURSE_VARIANT_ID (1 classic, 2 AI-native)
_COURSE_EVENTS = ("course_started", "course_completed", "chapter_started", "chapter_completed", "course_engagement")
_KNOWLEDGE_LEVELS = ("Novice", "Lower Intermediate", "Upper Intermediate", "Lower Advanced", "Upper Advanced")
# the last two keys of every block of _VARIANT_BLOCK: one learner completes both variants of one course
_VARIANT_BLOCK = 25


def datacamp_users(events: int) -> int:
    """The learners of a generated share with `events` learning events."""
    return max(100, events // 20)


def _event_layers() -> list[dict[str, str]]:
    """occurred: OCCURRED_AT within 60 days before the reference time; every 17th key at one backfill instant."""
    return [
        {
            "occurred": "CASE WHEN MOD(k, 17) = 6 THEN CAST('2025-12-15 00:00:00' AS TIMESTAMP_NTZ) ELSE "
            + before(f"MOD(r0, {60 * DAY_S}) * 1000 + MOD(r1, 1000)")
            + " END"
        }
    ]


def _date_id(ts: str) -> str:
    # YYYYMMDD as a number: TO_CHAR(ts, 'YYYYMMDD') loses its format in fakesnow's translation
    return f"YEAR({ts}) * 10000 + MONTH({ts}) * 100 + DAY({ts})"


def _in(names: Sequence[str]) -> str:
    return "event IN (" + ", ".join(lit(n) for n in dict.fromkeys(names)) + ")"


def _hashes(prefix: str, key: str, salt: int) -> dict[str, str]:
    """Four pseudo-random columns derived from a block number (`<prefix>`, `<prefix>2`..`<prefix>4`): values
    shared by every row of the block."""
    return {f"{prefix}{i if i > 1 else ''}": hashed(key, salt + i) for i in range(1, 5)}


def _block(key: str, size: int) -> str:
    """The block number of a key, blocks of `size` consecutive keys (an integer: DuckDB's `/` is a float)."""
    return f"CAST(FLOOR({key} / {size}) AS BIGINT)"


# two rows in a hundred repeat the previous row exactly: fact tables have no key and may hold duplicates
_DUP_KEY = "CASE WHEN MOD(n, 50) = 1 THEN n - 1 ELSE n END"


def learn_events_fill(rows: int, users: int) -> Fill:
    """Learning events as DataCamp documents them: assignment events without XP or duration, track events
    without content, course and chapter events per variant, content that DIM_CONTENT no longer has."""
    assessment = "event = 'assessment_completed'"
    score = "MOD(r9, 201)"
    levels = " ".join(f"WHEN {score} < {40 * (i + 1)} THEN {lit(v)}" for i, v in enumerate(_KNOWLEDGE_LEVELS[:-1]))
    return Fill(
        rows,
        {
            "GROUP_ID": "1000 + MOD(r2, 3)",
            "USER_ID": f"1 + MOD(CASE WHEN pair THEN br ELSE r3 END, {users})",
            "DATE_ID": _date_id("occurred"),
            "CONTENT_ID": f"CASE WHEN {_in(('track_started', 'track_completed', 'alpa_onboarding', *_ASSIGNMENT))}"
            f" THEN NULL WHEN pair THEN 1 + MOD(br, {_DC_CONTENT})"
            f" ELSE 1 + MOD(r4, {_DC_CONTENT + _DC_DELETED_CONTENT}) END",
            "COURSE_VARIANT_ID": f"CASE WHEN pair THEN MOD(k, {_VARIANT_BLOCK}) - {_VARIANT_BLOCK - 3}"
            f" WHEN {_in(_COURSE_EVENTS)} THEN 1 + MOD(r5, 2) END",
            "TRACK_VERSION_ID": f"CASE WHEN event IN ('track_started', 'track_completed') THEN 1 + MOD(r6, {_DC_TRACKS}) END",
            "ASSIGNMENT_ID": f"CASE WHEN {_in(_ASSIGNMENT)} THEN 500 + MOD(r7, 40) END",
            "EVENT_NAME": "event",
            "OCCURRED_AT": "occurred",
            # XP and engagement time come with the interactions, never with assignment events
            "XP_EARNED": f"CASE WHEN {_in(_ASSIGNMENT)} THEN NULL WHEN {_in(_STARTED)} THEN 0"
            " WHEN event = 'alpa_onboarding' THEN 250 ELSE 5 * (1 + MOD(r8, 60)) END",
            "DURATION_ENGAGED": f"CASE WHEN {_in(_ENGAGEMENT)} THEN {null_if('MOD(r8, 13) = 0', '30 + MOD(r9, 3570)')}"
            " WHEN event = 'exercise_completed' THEN MOD(r9, 600) END",
            "ASSESSMENT_SCORE": f"CASE WHEN {assessment} THEN {score} END",
            "ASSESSMENT_PERCENTILE": f"CASE WHEN {assessment} THEN {float_sql('r5', 1000, 1000)} END",
            "ASSESSMENT_KNOWLEDGE_LEVEL": f"CASE WHEN {assessment} THEN CASE {levels}"
            f" ELSE {lit(_KNOWLEDGE_LEVELS[-1])} END END",
            "COURSE_IS_SKIPPED": "CASE WHEN event = 'course_completed' THEN MOD(r7, 10) = 0 END",
        },
        _event_layers()
        + [
            {"pair": f"MOD(k, {_VARIANT_BLOCK}) >= {_VARIANT_BLOCK - 2}", "blk": _block("k", _VARIANT_BLOCK)},
            {"br": hashed("blk", 901), "event": f"CASE WHEN pair THEN 'course_completed' ELSE {pick('r2', _LEARN_EVENTS)} END"},
        ],
        key=_DUP_KEY,
    )


# An attempt at a certification is six events sharing ATTEMPT_ID, by plan: registration, a skill assessment, a
# second component ({c}: a project or a case study) and the milestone that ends it (none while in progress)
_SA = "certification_skill_assessment"
_CS = "certification_case_study"
_CERT_PLANS = (
    ("certification_registered", f"{_SA}_registered", f"{_SA}_passed", "{c}_registered", "{c}_passed",
     "certification_granted"),
    ("certification_registered", f"{_SA}_registered", f"{_SA}_failed", f"{_SA}_registered", f"{_SA}_failed",
     "certification_failed"),
    ("certification_registered", f"{_SA}_registered", f"{_SA}_passed", "{c}_registered", "{c}_failed",
     "certification_failed"),
    ("certification_registered", f"{_SA}_registered", f"{_SA}_passed", "certification_project_registered",
     "certification_project_expired", "certification_expired"),
    ("certification_registered", f"{_SA}_registered", f"{_SA}_passed", f"{_CS}_registered",
     f"{_CS}_presentation_submitted", "certification_withdrawn"),
    ("certification_registered", f"{_SA}_registered", f"{_SA}_passed", f"{_CS}_registered",
     f"{_CS}_presentation_submitted", f"{_CS}_graded"),
)


def _certification_fill(rows: int, users: int) -> Fill:
    """Certification attempts, six events each (`_CERT_PLANS`) an hour or more apart, every outcome present."""
    slots = len(_CERT_PLANS[0])

    def name(event: str) -> str:
        if "{c}" not in event:
            return lit(event)
        project, case = event.format(c="certification_project"), event.format(c=_CS)
        return f"CASE WHEN MOD(ah2, 2) = 0 THEN {lit(project)} ELSE {lit(case)} END"

    plans = " ".join(
        f"WHEN {p} THEN CASE slot " + " ".join(f"WHEN {s} THEN {name(e)}" for s, e in enumerate(plan)) + " END"
        for p, plan in enumerate(_CERT_PLANS)
    )
    start = before(f"({3 * DAY_S} + MOD(ah3, {55 * DAY_S})) * 1000 + MOD(ah2, 1000)")
    return Fill(
        rows,
        {
            "GROUP_ID": "1000 + MOD(ah2, 3)",
            "USER_ID": f"1 + MOD(ah3, {users})",
            "DATE_ID": _date_id("occurred"),
            "CERTIFICATION_ID": f"1 + MOD(ah4, {_DC_CERTS})",
            "EVENT_NAME": "event",
            "XP_EARNED": "CASE WHEN event = 'certification_granted' THEN 1000 WHEN RIGHT(event, 7) = '_passed' THEN 100 ELSE 0 END",
            "OCCURRED_AT": "occurred",
            "ATTEMPT_ID": "70000 + attempt",
        },
        [
            {"attempt": _block("k", slots), "slot": f"MOD(k, {slots})"},
            _hashes("ah", "attempt", 910),
            {
                "event": f"CASE MOD(ah, {len(_CERT_PLANS)}) {plans} END",
                "occurred": f"DATEADD(HOUR, slot * (1 + MOD(ah, 10)), {start})",
            },
        ],
        key=_DUP_KEY,
    )


def _datalab_fill(rows: int, users: int) -> Fill:
    """DataLab events in pairs: a workspace_visited and, for half of them, the workspace_viewed it contains
    (viewing time is part of the visit's time, so only one of the two may be summed), else a creation or a
    view of a published workbook."""
    return Fill(
        rows,
        {
            "GROUP_ID": "1000 + MOD(ph2, 3)",
            "USER_ID": f"1 + MOD(CASE WHEN event = 'workspace_publication_viewed' THEN r3 ELSE ph END, {users})",
            "DATE_ID": _date_id("occurred"),
            # uuid-like text ids
            "WORKBOOK_ID": "MD5('workbook-' || TO_VARCHAR(MOD(ph3, 400)))",
            "EVENT_NAME": "event",
            "OCCURRED_AT": "occurred",
            "DURATION_ENGAGED": "CASE WHEN event = 'workspace_visited' THEN visited"
            " WHEN event = 'workspace_viewed' THEN CAST(FLOOR(visited * (10 + MOD(ph3, 91)) / 100) AS BIGINT)"
            " WHEN event = 'workspace_publication_viewed' THEN MOD(r6, 600) END",
        },
        [
            {"pair": _block("k", 2), "half": "MOD(k, 2)"},
            _hashes("ph", "pair", 920),
            {
                "visited": "60 + MOD(ph2, 3540)",
                "event": "CASE WHEN half = 0 THEN 'workspace_visited' WHEN MOD(ph4, 4) < 2 THEN 'workspace_viewed'"
                " WHEN MOD(ph4, 4) = 2 THEN 'workspace_created' ELSE 'workspace_publication_viewed' END",
                "occurred": "CASE WHEN MOD(pair, 17) = 6 THEN CAST('2025-12-15 00:00:00' AS TIMESTAMP_NTZ) ELSE "
                + before(f"MOD(ph, {60 * DAY_S}) * 1000 + MOD(ph4, 1000)")
                + " END",
            },
        ],
        key=_DUP_KEY,
    )


# The first permission events are the groups' subscriptions (group, product, license, licences purchased, event,
# seconds before the reference time): group 1002 renews its learn subscription with more licences 25 days before
_SUBSCRIPTIONS = (
    (1000, "learn", "enterprise", 40, "subscription_started", 59 * DAY_S),
    (1001, "learn", "teams", 25, "subscription_started", 59 * DAY_S - 60),
    (1002, "learn", "enterprise", 30, "subscription_started", 59 * DAY_S - 120),
    (1000, "workspace", "enterprise", 10, "subscription_started", 59 * DAY_S - 180),
    (1001, "workspace", "teams", 5, "subscription_started", 59 * DAY_S - 240),
    (1002, "workspace", "enterprise", 10, "subscription_started", 59 * DAY_S - 300),
    (1002, "learn", "enterprise", 30, "subscription_ended", 25 * DAY_S),
    (1002, "learn", "enterprise", 60, "subscription_started", 25 * DAY_S - 3600),
)
# then seats, four events each: an invite, claimed or withdrawn, a licence allocated to a learner, and that
# licence revoked days later or another invite sent
_SEAT_SLOTS = 4


def _permission_fill(rows: int, users: int) -> Fill:
    """Subscriptions, invites and licence allocations that add up: seats held per group and product over time."""
    subs = len(_SUBSCRIPTIONS)

    def sub(i: int) -> str:
        return "CASE k " + " ".join(f"WHEN {k} THEN {lit(str(s[i]))}" for k, s in enumerate(_SUBSCRIPTIONS)) + " END"

    seat_at = (
        "CASE slot WHEN 0 THEN 0 WHEN 1 THEN 3600 + MOD(sh2, 40 * 3600) WHEN 2 THEN 2 * 86400 + MOD(sh3, 3600)"
        f" ELSE 3 * 86400 + MOD(sh, {20 * DAY_S}) END"
    )
    invite = "event IN ('invite_sent', 'invite_claimed', 'invite_withdrawn')"
    # a later invite (slot 3) gets its own id and address
    invite_no = "seat + CASE WHEN slot = 3 THEN 50000 ELSE 0 END"
    return Fill(
        rows,
        {
            "GROUP_ID": "grp",
            "TEAM_ID": f"CASE WHEN k >= {subs} AND MOD(sh, 3) <> 0 THEN 200 + MOD(sh, 12) END",
            "USER_ID": f"CASE WHEN k >= {subs} AND event NOT IN ('invite_sent', 'invite_withdrawn') THEN 1 + MOD(sh3, {users}) END",
            "EMAIL": f"CASE WHEN {invite} THEN 'Invitee.' || TO_VARCHAR({invite_no}) || '@Example.com' END",
            "DATE_ID": _date_id("occurred"),
            "EVENT_NAME": "event",
            "OCCURRED_AT": "occurred",
            "INVITE_ID": f"CASE WHEN {invite} THEN 90000 + {invite_no} END",
            "IS_ACTIVE": "CASE WHEN event IN ('subscription_started', 'user_license_allocated') THEN TRUE"
            " WHEN event IN ('subscription_ended', 'user_license_revoked') THEN FALSE END",
            "PRODUCT": "product",
            "LICENSE": "license",
            "SLUG": "product || '.' || license",
            "NB_LICENSES_PURCHASED": f"CASE WHEN k < {subs} THEN CAST({sub(3)} AS BIGINT) END",
        },
        [
            {"seat": _block(f"(k - {subs})", _SEAT_SLOTS), "slot": f"MOD(k - {subs}, {_SEAT_SLOTS})"},
            _hashes("sh", "seat", 930),
            {
                "grp": f"CASE WHEN k < {subs} THEN CAST({sub(0)} AS BIGINT) ELSE 1000 + MOD(sh2, 3) END",
                "product": f"CASE WHEN k < {subs} THEN {sub(1)} WHEN MOD(sh2, 5) = 0 THEN 'workspace' ELSE 'learn' END",
                "event": f"CASE WHEN k < {subs} THEN {sub(4)} WHEN slot = 0 THEN 'invite_sent'"
                " WHEN slot = 1 THEN CASE WHEN MOD(sh2, 4) = 1 THEN 'invite_withdrawn' ELSE 'invite_claimed' END"
                " WHEN slot = 2 THEN 'user_license_allocated'"
                " WHEN MOD(sh3, 3) = 0 THEN 'user_license_revoked' ELSE 'invite_sent' END",
                # seats start 28 to 58 days before the reference time, after the subscriptions
                "occurred": f"CASE WHEN k < {subs} THEN DATEADD(SECOND, -CAST({sub(5)} AS BIGINT), {REF_SQL}) ELSE"
                f" DATEADD(SECOND, -({58 * DAY_S} - MOD(sh4, {30 * DAY_S}) - {seat_at}), {REF_SQL}) END",
            },
            {"license": "CASE WHEN grp = 1001 THEN 'teams' ELSE 'enterprise' END"},
        ],
        # the subscriptions are never duplicated (a repeated one would be two subscriptions)
        key=f"CASE WHEN n >= {subs} AND MOD(n, 50) = 1 THEN n - 1 ELSE n END",
    )


def _datacamp_fills(events: int) -> dict[str, Fill]:
    users = datacamp_users(events)
    # most events are learning events, as in a real DataCamp share
    certification, datalab, permission = events // 20, events * 3 // 20, events // 10
    learn = events - certification - datalab - permission
    fills = {
        "FACT_LEARN_EVENTS": learn_events_fill(learn, users),
        "FACT_CERTIFICATION_EVENTS": _certification_fill(certification, users),
        "FACT_DATALAB_EVENTS": _datalab_fill(datalab, users),
        "FACT_PERMISSION_EVENTS": _permission_fill(permission, users),
        "DIM_CONTENT": Fill(
            _DC_CONTENT,
            {
                "CONTENT_ID": "n + 1",
                "TITLE": pick(
                    "r2",
                    (
                        "Intro to Python",
                        "Joining Data in SQL",
                        'Power BI: "DAX" fundamentals',
                        "Machine Learning, Part 1",
                        "Análisis de datos en R",
                        "Excel → Python",
                    ),
                )
                + " || ' ' || TO_VARCHAR(n + 1)",
                "CONTENT_TYPE": pick("r3", ("course", "course", "project", "practice", "assessment")),
                "TECHNOLOGY": pick("r4", ("Python", "R", "SQL", "Power BI", "Tableau", "Excel", None)),
                "CREATED_AT": "created",
                "UPDATED_AT": null_if("MOD(r5, 4) = 0", after_created("r5")),
            },
            created_layers(days=720, null_every=1000),
        ),
        "DIM_TRACK": Fill(
            _DC_TRACKS,
            {
                "TRACK_VERSION_ID": "n + 1",
                "TITLE": pick("r2", ("Data Analyst", "Data Scientist", "SQL Fundamentals", "Python Programmer"))
                + " || ' v' || TO_VARCHAR(1 + MOD(n, 3))",
                "CREATED_AT": "created",
            },
            created_layers(days=720, null_every=1000),
        ),
        "DIM_USER": Fill(
            users,
            {
                "USER_ID": "n + 1",
                "EMAIL": "'learner' || TO_VARCHAR(n + 1) || '@example.com'",
                "FIRST_NAME": pick("r2", FIRST_NAMES),
                "LAST_NAME": pick("r3", LAST_NAMES),
                "CREATED_AT": "created",
                "UPDATED_AT": after_created("r4"),
            },
            created_layers(days=365),
        ),
        "DIM_COURSE_VARIANT": Fill(
            2,
            {"COURSE_VARIANT_ID": "n + 1", "NAME": "CASE WHEN n = 0 THEN 'classic' ELSE 'AI-native' END"},
        ),
        "DIM_CERTIFICATION": Fill(
            _DC_CERTS,
            {
                "CERTIFICATION_ID": "n + 1",
                "NAME": pick(
                    "n",
                    (
                        "Data Analyst Associate",
                        "Data Scientist Associate",
                        "Data Engineer Associate",
                        "SQL Associate",
                        "AI Engineer",
                        "Data Literacy",
                    ),
                ),
                "CREATED_AT": "created",
            },
            created_layers(days=720, null_every=1000),
        ),
    }
    return fills


def create_datacamp(
    conn: Any, database: str = "DATACAMP", schema: str = "DATA_CONNECTOR", events: int = 5000
) -> dict[str, int]:
    """Create and fill the 4 DataCamp fact tables (`events` rows in all) and 5 dimensions; rows per table."""
    if events < 0:
        raise ValueError("events must not be negative")
    ensure_schema(conn, database, schema)
    fills = _datacamp_fills(events)
    return {
        doc.name: create_and_fill(conn, database, schema, doc, fills[doc.name])
        for doc in DATACAMP_FACTS + DATACAMP_DIMENSIONS
    }

