"""360Learning Data Connect: the 18 tables of schema CORE, generated (`create_360learning`)."""

from __future__ import annotations

from typing import Any

from learnsync.pipelines.vendor_docs import LEARNING_360
from learnsync.emulator.fill import (  # the emulator's own SQL building blocks
    _FIRST,
    _Fill,
    _LANGS,
    _LAST,
    _LONG_TEXT,
    _REF,
    _TITLES,
    _after_created,
    _arr,
    _before,
    _bool,
    _create_and_fill,
    _created_layers,
    _ensure_schema,
    _float,
    _id,
    _iso,
    _null_if,
    _pick,
    _ref,
    _sub,
)


# --------------------------------------------------------------------------------------------------------------
# 360Learning Data Connect


def _sizes_360(scale: int) -> dict[str, int]:
    return {
        "ASSESSMENTS_OUTLINES": 20,
        "ASSESSMENTS_TRACKINGS": 100 * scale,
        "CLASSROOMS": 20,
        "CLASSROOMSLOTS": 40,
        "CLASSROOMS_TRACKINGS": 100 * scale,
        "COURSES": 50,
        "COURSES_TRACKINGS": 2000 * scale,
        "DAILY_METRICS": 60,
        "GROUPS": 20,
        "LEARNINGNEEDS": 30,
        "PATHS": 10,
        "PATHS_SESSIONS": 20,
        "PATHS_TRACKINGS": 300 * scale,
        "POSTS": 100,
        "PROJECTS": 20,
        "REACTIONS": 100,
        "SKILLS": 40,
        "USERS": 200 * scale,
    }


def _fills_360(size: dict[str, int]) -> dict[str, _Fill]:
    """The generator of every 360Learning table; ids reference existing rows of the other tables."""
    users, groups, courses = size["USERS"], size["GROUPS"], size["COURSES"]
    paths, sessions, skills = size["PATHS"], size["PATHS_SESSIONS"], size["SKILLS"]
    outlines, classrooms, slots = size["ASSESSMENTS_OUTLINES"], size["CLASSROOMS"], size["CLASSROOMSLOTS"]

    def user(r: str) -> str:
        return _ref("u", r, users)

    def group(r: str) -> str:
        return _ref("g", r, groups)

    def course(r: str) -> str:
        return _ref("c", r, courses)

    def session(r: str) -> str:
        return _ref("ps", r, sessions)

    def skill(r: str) -> str:
        return _ref("sk", r, skills)

    def own_id(prefix: str, table: str) -> str:
        return _id(prefix, "n", size[table])

    def context(r: str) -> tuple[str, str]:
        """CONTEXT_TYPE and CONTEXT_ID: a path session or nothing."""
        kind = _pick(r, ("pathSession", "pathSession", "catalog", None))
        return kind, f"CASE WHEN MOD({r}, 4) < 2 THEN {session(_sub(r, 1))} ELSE NULL END"

    created = _created_layers()
    fills: dict[str, _Fill] = {}

    fills["ASSESSMENTS_OUTLINES"] = _Fill(
        outlines,
        {
            "ID": own_id("ao", "ASSESSMENTS_OUTLINES"),
            "CREATED_AT": "created",
            "NAME": f"{_pick('r2', _TITLES)} || ' (assessment)'",
            "ASSESSOR_INSTRUCTIONS": _pick("r3", _LONG_TEXT),
            "LEARNER_INSTRUCTIONS": _pick("r4", _LONG_TEXT),
        },
        created,
    )
    ctype, cid = context("r5")
    fills["ASSESSMENTS_TRACKINGS"] = _Fill(
        size["ASSESSMENTS_TRACKINGS"],
        {
            "ID": own_id("at", "ASSESSMENTS_TRACKINGS"),
            "ASSESSMENT_OUTLINE_ID": _ref("ao", "r2", outlines),
            "CREATED_AT": "created",
            "USER": user("r3"),
            "CONTEXT_TYPE": ctype,
            "CONTEXT_ID": cid,
            "CORRECTED_AT": "CASE WHEN corrected THEN " + _after_created("r6") + " END",
            "SCORE": f"CASE WHEN corrected THEN {_float('r7')} END",
            "SUCCESS": "CASE WHEN corrected THEN MOD(r8, 3) <> 0 END",
            "CORRECTED_BY": f"CASE WHEN corrected THEN {user('r9')} END",
            "ASSESSORS": _arr("r9", user),
        },
        created + [{"corrected": "MOD(r4, 4) <> 0"}],
    )
    fills["CLASSROOMS"] = _Fill(
        classrooms,
        {
            "ID": own_id("cr", "CLASSROOMS"),
            "CREATED_AT": "created",
            "NAME": f"{_pick('r2', _TITLES)} || ' — classroom ' || TO_VARCHAR(n + 1)",
            "MEDIAS": _pick(
                "r3", ('[{"type": "pdf", "name": "slides, v2.pdf"}]', None, "", "https://example.com/m.mp4")
            ),
            "IS_VIRTUAL": _bool("r4"),
        },
        created,
    )
    fills["CLASSROOMSLOTS"] = _Fill(
        slots,
        {
            "ID": own_id("cs", "CLASSROOMSLOTS"),
            "CREATED_AT": "created",
            "START_DATE": "slot_start",
            "END_DATE": "DATEADD(HOUR, 1 + MOD(r3, 8), slot_start)",
            "CLASSROOM": _ref("cr", "r4", classrooms),
            "NAME": f"'Slot ' || TO_VARCHAR(n + 1) || ', ' || {_pick('r5', _TITLES)}",
            "IS_VIRTUAL": _bool("r6"),
            "LOCATION": _pick("r7", ("Paris, 2nd floor", "Zoom", "Room \"Everest\"", "東京オフィス", None)),
            "TRAINERS": _arr("r8", user),
            "REPORTED_DURATION": _null_if("MOD(r9, 5) = 0", "1 + MOD(r9, 8)"),
        },
        # slots are scheduled from a month before to a month after the reference time
        created + [{"slot_start": f"DATEADD(HOUR, MOD(r2, 1440) - 720, {_REF})"}],
    )
    fills["CLASSROOMS_TRACKINGS"] = _Fill(
        size["CLASSROOMS_TRACKINGS"],
        {
            "ID": own_id("crt", "CLASSROOMS_TRACKINGS"),
            "CREATED_AT": "created",
            "USER": user("r2"),
            "CLASSROOMSLOT": _ref("cs", "r3", slots),
            "CLASSROOM": _ref("cr", "r4", classrooms),
            "HAS_ATTENDED": _null_if("MOD(r5, 7) = 0", "MOD(r5, 3) <> 0"),
            "CONTEXT_TYPE": context("r6")[0],
            "CONTEXT_ID": context("r6")[1],
        },
        created,
    )
    fills["COURSES"] = _Fill(
        courses,
        {
            "ID": own_id("c", "COURSES"),
            "CREATED_AT": "created",
            "NAME": f"{_pick('r2', _TITLES)} || ' #' || TO_VARCHAR(n + 1)",
            "SKILLS": _arr("r3", skill),
            "IS_SCORM": _bool("r4", 5),
            "CO_AUTHORS": _arr("r5", user),
            "AUTHOR": user("r6"),
            "DESCRIPTION": _pick("r7", _LONG_TEXT),
            "MODIFIED_AT": _after_created("r8"),
            "SOURCE_LANG": _pick("r9", _LANGS),
            "COURSE_DURATION": _null_if("MOD(r4, 9) = 0", "5 + MOD(r4, 240)"),
            "EXTERNAL_CONTENT": _pick("r5", (None, None, None, '{"provider": "LinkedIn Learning", "id": "42"}')),
            "ARCHIVED": _bool("r6", 8),
        },
        created,
    )
    fills["COURSES_TRACKINGS"] = _courses_trackings_fill(size["COURSES_TRACKINGS"], users, courses, sessions)
    fills["DAILY_METRICS"] = _Fill(
        size["DAILY_METRICS"],
        {
            # one row per day, at midnight, the most recent day just before the reference time
            "DATE": "DATEADD(DAY, -(n + 1), " + _REF + ")",
            "LOGGED_IN_USERS": _arr("r0", user),
        },
    )
    fills["GROUPS"] = _Fill(
        groups,
        {
            "ID": own_id("g", "GROUPS"),
            "CREATED_AT": "created",
            "OWNER": user("r2"),
            "NAME": _pick("r3", ("Sales", "R&D", "Support, EMEA", 'Équipe "Produit"', "営業部", "Ops"))
            + " || ' ' || TO_VARCHAR(n + 1)",
            "ADMINS": _arr("r4", user),
            "AUTHORS": _arr("r5", user),
            "COACHES": _arr("r6", user),
            # a tree: the first groups are roots, the others hang under an earlier group
            "PARENT_ID": f"CASE WHEN n < 3 THEN NULL ELSE {_id('g', 'MOD(r7, n)', groups)} END",
            "USERS": _arr("r8", user),
        },
        created,
    )
    fills["LEARNINGNEEDS"] = _Fill(
        size["LEARNINGNEEDS"],
        {
            "ID": own_id("ln", "LEARNINGNEEDS"),
            "CREATED_AT": "created",
            "NAME": _pick("r2", _TITLES) + " || ' need'",
            "STATUS": _pick("r3", ("open", "inProgress", "closed")),
            "VOLUNTEERS": _arr("r4", user),
            "EXPERTS": _arr("r5", user),
            "GROUP": group("r6"),
            "ANSWERS": _arr(
                "r7",
                lambda r: f"OBJECT_CONSTRUCT('user', {user(r)}, 'answer', {_pick(r, _LONG_TEXT[:4])},"
                f" 'votes', MOD({r}, 10))",
            ),
            "DELETED_AT": _null_if("MOD(r8, 6) <> 0", _after_created("r8")),
            "DECLARED_BY": user("r9"),
        },
        created,
    )
    fills["PATHS"] = _Fill(
        paths,
        {
            "ID": own_id("p", "PATHS"),
            "NAME": _pick("r2", _TITLES) + " || ' path'",
            "AUTHOR": user("r3"),
            "CO_AUTHORS": _arr("r4", user),
            "DESCRIPTION": _pick("r5", _LONG_TEXT),
            "SOURCE_LANG": _pick("r6", _LANGS),
            "MODIFIED_AT": _after_created("r7"),
            "OWNER_GROUP": group("r8"),
            "DURATION": "1 + MOD(r9, 40)",
            "CREATED_AT": "created",
            "SKILLS": _arr("r2", skill),
            # steps are courses or assessments
            "STEPS": _arr(
                "r3", lambda r: f"CASE WHEN MOD({r}, 3) = 0 THEN {_ref('ao', r, outlines)} ELSE {course(r)} END"
            ),
            "ADDITIONAL_INFORMATION": _pick("r4", _LONG_TEXT),
        },
        created,
    )
    fills["PATHS_SESSIONS"] = _Fill(
        sessions,
        {
            "ID": own_id("ps", "PATHS_SESSIONS"),
            "CREATED_AT": "created",
            "NAME": "'Session ' || TO_VARCHAR(n + 1) || ' – ' || " + _pick("r2", _TITLES),
            "START_DATE": "session_start",
            "END_DATE": _null_if("MOD(r3, 5) = 0", "DATEADD(DAY, 7 + MOD(r3, 60), session_start)"),
            "PATH": _ref("p", "r4", paths),
            "INSTRUCTORS": _arr("r5", user),
            "MAIN_INSTRUCTOR": user("r6"),
            "OWNER_GROUP": group("r7"),
            "MODIFIED_AT": _after_created("r8"),
        },
        created + [{"session_start": _after_created("r9")}],
    )
    fills["PATHS_TRACKINGS"] = _Fill(
        size["PATHS_TRACKINGS"],
        {
            "ID": own_id("pt", "PATHS_TRACKINGS"),
            "CREATED_AT": "created",
            "USER": user("r2"),
            "PATH_ID": _ref("p", "r3", paths),
            "PATH_SESSION": _null_if("MOD(r4, 3) = 0", session("r4")),
            "SCORE": _null_if("progress = 0", "MOD(r5, 101)"),
            "PROGRESS": "progress",
            "RESULT": "CASE WHEN progress = 100 THEN " + _pick("r6", ("success", "success", "failure")) + " END",
            "ENROLLED": "MOD(r7, 10) <> 0",
            "IS_SELF_ENROLLED": _bool("r7", 3),
            "ENROLLED_AT": "created",
            "TIME_SPENT": "MOD(r8, 600)",
            "COMPLETED_AT": "CASE WHEN progress = 100 THEN " + _after_created("r9") + " END",
            "HAS_CERTIFICATE": "progress = 100 AND MOD(r9, 2) = 0",
            "LEARNER_STATUS": _pick("r6", ("notStarted", "inProgress", "completed", "late")),
        },
        created + [{"progress": "CASE WHEN MOD(r5, 3) = 0 THEN 100 ELSE MOD(r5, 101) END"}],
    )
    fills["POSTS"] = _Fill(
        size["POSTS"],
        {
            "ID": own_id("po", "POSTS"),
            "CREATED_AT": "created",
            "AUTHOR": user("r2"),
            "TARGET_ID": course("r3"),
            "TARGET_TYPE": _pick("r4", ("course", "group", "path")),
            "GROUP": group("r5"),
            "COURSE_ID": _null_if("MOD(r6, 4) = 0", course("r3")),
            "COMMENT": _pick("r7", _LONG_TEXT + ("Great course 👍👍", "Q: is module 3, \"part B\", mandatory?\nThanks!")),
        },
        created,
    )
    fills["PROJECTS"] = _Fill(
        size["PROJECTS"],
        {
            "ID": own_id("pj", "PROJECTS"),
            "CREATED_AT": "created",
            "COMPLETED_AT": _null_if("MOD(r2, 3) = 0", _after_created("r3")),
            "NAME": _pick("r4", _TITLES) + " || ' project'",
            "GROUP": group("r5"),
        },
        created,
    )
    fills["REACTIONS"] = _Fill(
        size["REACTIONS"],
        {
            "ID": own_id("re", "REACTIONS"),
            "CREATED_AT": "created",
            "AUTHOR_ID": user("r2"),
            "GROUP_ID": group("r3"),
            "COURSE_ID": course("r4"),
            "TARGET_ID": _ref("po", "r5", size["POSTS"]),
            "COLLECTION": _pick("r6", ("posts", "comments")),
            "ARCHIVED_AT": _null_if("MOD(r7, 8) <> 0", _after_created("r7")),
        },
        created,
    )
    fills["SKILLS"] = _Fill(
        skills,
        {
            "ID": own_id("sk", "SKILLS"),
            "CREATED_AT": "created",
            "AUTHOR": user("r2"),
            "NAME": _pick("r3", ("Python", "Négociation", "Public speaking", "SQL, advanced", "Kaizen 改善", "C#"))
            + " || ' ' || TO_VARCHAR(n + 1)",
            "EXTERNAL_ID": _pick("r4", (None, "", "esco:1234", "ext-\"9\"")),
        },
        created,
    )
    fills["USERS"] = _Fill(
        users,
        {
            "ID": own_id("u", "USERS"),
            "CREATED_AT": "created",
            "EMAIL": _null_if("MOD(r2, 25) = 0", "'user' || TO_VARCHAR(n + 1) || '@example.com'"),
            "FIRST_NAME": _pick("r3", _FIRST),
            "LAST_NAME": _pick("r4", _LAST),
            "DELETED": _bool("r5", 20),
            "MANAGERS": _arr("r6", user, max_len=2),
            "CUSTOMFIELDS": _arr(
                "r7",
                lambda r: f"OBJECT_CONSTRUCT('name', {_pick(r, ('team', 'site', 'level'))},"
                f" 'value', {_pick(_sub(r, 5), ('sales', 'Paris, FR', 'Zürich', 'n/a', '3'))})",
            ),
            "LAST_LOG_IN_AT": _null_if("MOD(r8, 5) = 0", _after_created("r8")),
            "EXTERNAL_IDS": _arr("r9", lambda r: f"'ext-' || TO_VARCHAR(MOD({r}, 100000))", max_len=2),
        },
        created,
    )
    return fills


def _courses_trackings_fill(rows: int, users: int, courses: int, sessions: int) -> _Fill:
    """COURSES_TRACKINGS, the biggest 360Learning table (also used by the benchmark share)."""
    kind = _pick("r9", ("pathSession", "pathSession", "catalog", "direct"))
    return _Fill(
        rows,
        {
            "ID": _id("ct", "n", rows),
            "CREATED_AT": "created",
            "COURSE": _ref("c", "r2", courses),
            "USER": _ref("u", "r3", users),
            "SCORE": _null_if("progress = 0", _float("r4")),
            "RESULT": "CASE WHEN progress = 100 THEN " + _pick("r5", ("success", "success", "failure")) + " END",
            "PROGRESS": "progress",
            "TIME_SPENT": "CAST(MOD(r6, 50000) / 10 AS NUMBER(37,1))",
            "LAST_ACCESSED_AT": "last_access",
            # ISO texts between CREATED_AT and LAST_ACCESSED_AT
            "ACCESS_DATES": _arr("r7", lambda r: _iso(_before(f"(off - MOD({r}, off - last_off + 1)) * 1000"))),
            "COMPLETED_AT": "CASE WHEN progress = 100 THEN last_access END",
            "CONTEXT_TYPE": kind,
            "CONTEXT_ID": f"CASE WHEN MOD(r9, 4) < 2 THEN {_ref('ps', 'r8', sessions)} END",
            "LANG": _pick("r8", _LANGS),
        },
        _created_layers()
        + [
            {
                "progress": "CASE WHEN MOD(r5, 3) = 0 THEN 100 ELSE MOD(r5, 101) END",
                "last_off": "off - MOD(r8, off + 1)",
            },
            {"last_access": _before("last_off * 1000")},
        ],
    )


def create_360learning(
    conn: Any, database: str = "LEARNING_360", schema: str = "CORE", scale: int = 1
) -> dict[str, int]:
    """Create and fill the 18 tables of 360Learning Data Connect; returns rows per table."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    _ensure_schema(conn, database, schema)
    fills = _fills_360(_sizes_360(scale))
    return {doc.name: _create_and_fill(conn, database, schema, doc, fills[doc.name]) for doc in LEARNING_360}

