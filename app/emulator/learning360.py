"""360Learning Data Connect: the 18 tables of schema CORE, generated (`create_360learning`)."""

from __future__ import annotations

from typing import Any

from learnsync.catalog.vendor_docs import LEARNING_360
from learnsync.emulator.fill import (  # the emulator's own SQL building blocks
    FIRST_NAMES,
    Fill,
    LANGS,
    LAST_NAMES,
    LONG_TEXT,
    REF_SQL,
    TITLES,
    after_created,
    array_sql,
    before,
    bool_sql,
    create_and_fill,
    created_layers,
    ensure_schema,
    float_sql,
    text_id,
    iso_text,
    null_if,
    pick,
    ref_id,
    sub_random,
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


def _fills_360(size: dict[str, int]) -> dict[str, Fill]:
    """The generator of every 360Learning table; ids reference existing rows of the other tables."""
    users, groups, courses = size["USERS"], size["GROUPS"], size["COURSES"]
    paths, sessions, skills = size["PATHS"], size["PATHS_SESSIONS"], size["SKILLS"]
    outlines, classrooms, slots = size["ASSESSMENTS_OUTLINES"], size["CLASSROOMS"], size["CLASSROOMSLOTS"]

    def user(r: str) -> str:
        return ref_id("u", r, users)

    def group(r: str) -> str:
        return ref_id("g", r, groups)

    def course(r: str) -> str:
        return ref_id("c", r, courses)

    def session(r: str) -> str:
        return ref_id("ps", r, sessions)

    def skill(r: str) -> str:
        return ref_id("sk", r, skills)

    def own_id(prefix: str, table: str) -> str:
        return text_id(prefix, "n", size[table])

    def context(r: str) -> tuple[str, str]:
        """CONTEXT_TYPE and CONTEXT_ID: a path session or nothing."""
        kind = pick(r, ("pathSession", "pathSession", "catalog", None))
        return kind, f"CASE WHEN MOD({r}, 4) < 2 THEN {session(sub_random(r, 1))} ELSE NULL END"

    created = created_layers()
    fills: dict[str, Fill] = {}

    fills["ASSESSMENTS_OUTLINES"] = Fill(
        outlines,
        {
            "ID": own_id("ao", "ASSESSMENTS_OUTLINES"),
            "CREATED_AT": "created",
            "NAME": f"{pick('r2', TITLES)} || ' (assessment)'",
            "ASSESSOR_INSTRUCTIONS": pick("r3", LONG_TEXT),
            "LEARNER_INSTRUCTIONS": pick("r4", LONG_TEXT),
        },
        created,
    )
    ctype, cid = context("r5")
    fills["ASSESSMENTS_TRACKINGS"] = Fill(
        size["ASSESSMENTS_TRACKINGS"],
        {
            "ID": own_id("at", "ASSESSMENTS_TRACKINGS"),
            "ASSESSMENT_OUTLINE_ID": ref_id("ao", "r2", outlines),
            "CREATED_AT": "created",
            "USER": user("r3"),
            "CONTEXT_TYPE": ctype,
            "CONTEXT_ID": cid,
            "CORRECTED_AT": "CASE WHEN corrected THEN " + after_created("r6") + " END",
            "SCORE": f"CASE WHEN corrected THEN {float_sql('r7')} END",
            "SUCCESS": "CASE WHEN corrected THEN MOD(r8, 3) <> 0 END",
            "CORRECTED_BY": f"CASE WHEN corrected THEN {user('r9')} END",
            "ASSESSORS": array_sql("r9", user),
        },
        created + [{"corrected": "MOD(r4, 4) <> 0"}],
    )
    fills["CLASSROOMS"] = Fill(
        classrooms,
        {
            "ID": own_id("cr", "CLASSROOMS"),
            "CREATED_AT": "created",
            "NAME": f"{pick('r2', TITLES)} || ' — classroom ' || TO_VARCHAR(n + 1)",
            "MEDIAS": pick(
                "r3", ('[{"type": "pdf", "name": "slides, v2.pdf"}]', None, "", "https://example.com/m.mp4")
            ),
            "IS_VIRTUAL": bool_sql("r4"),
        },
        created,
    )
    fills["CLASSROOMSLOTS"] = Fill(
        slots,
        {
            "ID": own_id("cs", "CLASSROOMSLOTS"),
            "CREATED_AT": "created",
            "START_DATE": "slot_start",
            "END_DATE": "DATEADD(HOUR, 1 + MOD(r3, 8), slot_start)",
            "CLASSROOM": ref_id("cr", "r4", classrooms),
            "NAME": f"'Slot ' || TO_VARCHAR(n + 1) || ', ' || {pick('r5', TITLES)}",
            "IS_VIRTUAL": bool_sql("r6"),
            "LOCATION": pick("r7", ("Paris, 2nd floor", "Zoom", "Room \"Everest\"", "東京オフィス", None)),
            "TRAINERS": array_sql("r8", user),
            "REPORTED_DURATION": null_if("MOD(r9, 5) = 0", "1 + MOD(r9, 8)"),
        },
        # slots are scheduled from a month before to a month after the reference time
        created + [{"slot_start": f"DATEADD(HOUR, MOD(r2, 1440) - 720, {REF_SQL})"}],
    )
    fills["CLASSROOMS_TRACKINGS"] = Fill(
        size["CLASSROOMS_TRACKINGS"],
        {
            "ID": own_id("crt", "CLASSROOMS_TRACKINGS"),
            "CREATED_AT": "created",
            "USER": user("r2"),
            "CLASSROOMSLOT": ref_id("cs", "r3", slots),
            "CLASSROOM": ref_id("cr", "r4", classrooms),
            "HAS_ATTENDED": null_if("MOD(r5, 7) = 0", "MOD(r5, 3) <> 0"),
            "CONTEXT_TYPE": context("r6")[0],
            "CONTEXT_ID": context("r6")[1],
        },
        created,
    )
    fills["COURSES"] = Fill(
        courses,
        {
            "ID": own_id("c", "COURSES"),
            "CREATED_AT": "created",
            "NAME": f"{pick('r2', TITLES)} || ' #' || TO_VARCHAR(n + 1)",
            "SKILLS": array_sql("r3", skill),
            "IS_SCORM": bool_sql("r4", 5),
            "CO_AUTHORS": array_sql("r5", user),
            "AUTHOR": user("r6"),
            "DESCRIPTION": pick("r7", LONG_TEXT),
            "MODIFIED_AT": after_created("r8"),
            "SOURCE_LANG": pick("r9", LANGS),
            "COURSE_DURATION": null_if("MOD(r4, 9) = 0", "5 + MOD(r4, 240)"),
            "EXTERNAL_CONTENT": pick("r5", (None, None, None, '{"provider": "LinkedIn Learning", "id": "42"}')),
            "ARCHIVED": bool_sql("r6", 8),
        },
        created,
    )
    fills["COURSES_TRACKINGS"] = courses_trackings_fill(size["COURSES_TRACKINGS"], users, courses, sessions)
    fills["DAILY_METRICS"] = Fill(
        size["DAILY_METRICS"],
        {
            # one row per day, at midnight, the most recent day just before the reference time
            "DATE": "DATEADD(DAY, -(n + 1), " + REF_SQL + ")",
            "LOGGED_IN_USERS": array_sql("r0", user),
        },
    )
    fills["GROUPS"] = Fill(
        groups,
        {
            "ID": own_id("g", "GROUPS"),
            "CREATED_AT": "created",
            "OWNER": user("r2"),
            "NAME": pick("r3", ("Sales", "R&D", "Support, EMEA", 'Équipe "Produit"', "営業部", "Ops"))
            + " || ' ' || TO_VARCHAR(n + 1)",
            "ADMINS": array_sql("r4", user),
            "AUTHORS": array_sql("r5", user),
            "COACHES": array_sql("r6", user),
            # a tree: the first groups are roots, the others hang under an earlier group
            "PARENT_ID": f"CASE WHEN n < 3 THEN NULL ELSE {text_id('g', 'MOD(r7, n)', groups)} END",
            "USERS": array_sql("r8", user),
        },
        created,
    )
    fills["LEARNINGNEEDS"] = Fill(
        size["LEARNINGNEEDS"],
        {
            "ID": own_id("ln", "LEARNINGNEEDS"),
            "CREATED_AT": "created",
            "NAME": pick("r2", TITLES) + " || ' need'",
            "STATUS": pick("r3", ("open", "inProgress", "closed")),
            "VOLUNTEERS": array_sql("r4", user),
            "EXPERTS": array_sql("r5", user),
            "GROUP": group("r6"),
            "ANSWERS": array_sql(
                "r7",
                lambda r: f"OBJECT_CONSTRUCT('user', {user(r)}, 'answer', {pick(r, LONG_TEXT[:4])},"
                f" 'votes', MOD({r}, 10))",
            ),
            "DELETED_AT": null_if("MOD(r8, 6) <> 0", after_created("r8")),
            "DECLARED_BY": user("r9"),
        },
        created,
    )
    fills["PATHS"] = Fill(
        paths,
        {
            "ID": own_id("p", "PATHS"),
            "NAME": pick("r2", TITLES) + " || ' path'",
            "AUTHOR": user("r3"),
            "CO_AUTHORS": array_sql("r4", user),
            "DESCRIPTION": pick("r5", LONG_TEXT),
            "SOURCE_LANG": pick("r6", LANGS),
            "MODIFIED_AT": after_created("r7"),
            "OWNER_GROUP": group("r8"),
            "DURATION": "1 + MOD(r9, 40)",
            "CREATED_AT": "created",
            "SKILLS": array_sql("r2", skill),
            # steps are courses or assessments
            "STEPS": array_sql(
                "r3", lambda r: f"CASE WHEN MOD({r}, 3) = 0 THEN {ref_id('ao', r, outlines)} ELSE {course(r)} END"
            ),
            "ADDITIONAL_INFORMATION": pick("r4", LONG_TEXT),
        },
        created,
    )
    fills["PATHS_SESSIONS"] = Fill(
        sessions,
        {
            "ID": own_id("ps", "PATHS_SESSIONS"),
            "CREATED_AT": "created",
            "NAME": "'Session ' || TO_VARCHAR(n + 1) || ' – ' || " + pick("r2", TITLES),
            "START_DATE": "session_start",
            "END_DATE": null_if("MOD(r3, 5) = 0", "DATEADD(DAY, 7 + MOD(r3, 60), session_start)"),
            "PATH": ref_id("p", "r4", paths),
            "INSTRUCTORS": array_sql("r5", user),
            "MAIN_INSTRUCTOR": user("r6"),
            "OWNER_GROUP": group("r7"),
            "MODIFIED_AT": after_created("r8"),
        },
        created + [{"session_start": after_created("r9")}],
    )
    fills["PATHS_TRACKINGS"] = Fill(
        size["PATHS_TRACKINGS"],
        {
            "ID": own_id("pt", "PATHS_TRACKINGS"),
            "CREATED_AT": "created",
            "USER": user("r2"),
            "PATH_ID": ref_id("p", "r3", paths),
            "PATH_SESSION": null_if("MOD(r4, 3) = 0", session("r4")),
            "SCORE": null_if("progress = 0", "MOD(r5, 101)"),
            "PROGRESS": "progress",
            "RESULT": "CASE WHEN progress = 100 THEN " + pick("r6", ("success", "success", "failure")) + " END",
            "ENROLLED": "MOD(r7, 10) <> 0",
            "IS_SELF_ENROLLED": bool_sql("r7", 3),
            "ENROLLED_AT": "created",
            "TIME_SPENT": "MOD(r8, 600)",
            "COMPLETED_AT": "CASE WHEN progress = 100 THEN " + after_created("r9") + " END",
            "HAS_CERTIFICATE": "progress = 100 AND MOD(r9, 2) = 0",
            "LEARNER_STATUS": pick("r6", ("notStarted", "inProgress", "completed", "late")),
        },
        created + [{"progress": "CASE WHEN MOD(r5, 3) = 0 THEN 100 ELSE MOD(r5, 101) END"}],
    )
    fills["POSTS"] = Fill(
        size["POSTS"],
        {
            "ID": own_id("po", "POSTS"),
            "CREATED_AT": "created",
            "AUTHOR": user("r2"),
            "TARGET_ID": course("r3"),
            "TARGET_TYPE": pick("r4", ("course", "group", "path")),
            "GROUP": group("r5"),
            "COURSE_ID": null_if("MOD(r6, 4) = 0", course("r3")),
            "COMMENT": pick("r7", LONG_TEXT + ("Great course 👍👍", "Q: is module 3, \"part B\", mandatory?\nThanks!")),
        },
        created,
    )
    fills["PROJECTS"] = Fill(
        size["PROJECTS"],
        {
            "ID": own_id("pj", "PROJECTS"),
            "CREATED_AT": "created",
            "COMPLETED_AT": null_if("MOD(r2, 3) = 0", after_created("r3")),
            "NAME": pick("r4", TITLES) + " || ' project'",
            "GROUP": group("r5"),
        },
        created,
    )
    fills["REACTIONS"] = Fill(
        size["REACTIONS"],
        {
            "ID": own_id("re", "REACTIONS"),
            "CREATED_AT": "created",
            "AUTHOR_ID": user("r2"),
            "GROUP_ID": group("r3"),
            "COURSE_ID": course("r4"),
            "TARGET_ID": ref_id("po", "r5", size["POSTS"]),
            "COLLECTION": pick("r6", ("posts", "comments")),
            "ARCHIVED_AT": null_if("MOD(r7, 8) <> 0", after_created("r7")),
        },
        created,
    )
    fills["SKILLS"] = Fill(
        skills,
        {
            "ID": own_id("sk", "SKILLS"),
            "CREATED_AT": "created",
            "AUTHOR": user("r2"),
            "NAME": pick("r3", ("Python", "Négociation", "Public speaking", "SQL, advanced", "Kaizen 改善", "C#"))
            + " || ' ' || TO_VARCHAR(n + 1)",
            "EXTERNAL_ID": pick("r4", (None, "", "esco:1234", "ext-\"9\"")),
        },
        created,
    )
    fills["USERS"] = Fill(
        users,
        {
            "ID": own_id("u", "USERS"),
            "CREATED_AT": "created",
            "EMAIL": null_if("MOD(r2, 25) = 0", "'user' || TO_VARCHAR(n + 1) || '@example.com'"),
            "FIRST_NAME": pick("r3", FIRST_NAMES),
            "LAST_NAME": pick("r4", LAST_NAMES),
            "DELETED": bool_sql("r5", 20),
            "MANAGERS": array_sql("r6", user, max_len=2),
            "CUSTOMFIELDS": array_sql(
                "r7",
                lambda r: f"OBJECT_CONSTRUCT('name', {pick(r, ('team', 'site', 'level'))},"
                f" 'value', {pick(sub_random(r, 5), ('sales', 'Paris, FR', 'Zürich', 'n/a', '3'))})",
            ),
            "LAST_LOG_IN_AT": null_if("MOD(r8, 5) = 0", after_created("r8")),
            "EXTERNAL_IDS": array_sql("r9", lambda r: f"'ext-' || TO_VARCHAR(MOD({r}, 100000))", max_len=2),
        },
        created,
    )
    return fills


def courses_trackings_fill(rows: int, users: int, courses: int, sessions: int) -> Fill:
    """COURSES_TRACKINGS, the biggest 360Learning table (also used by the benchmark share)."""
    kind = pick("r9", ("pathSession", "pathSession", "catalog", "direct"))
    return Fill(
        rows,
        {
            "ID": text_id("ct", "n", rows),
            "CREATED_AT": "created",
            "COURSE": ref_id("c", "r2", courses),
            "USER": ref_id("u", "r3", users),
            "SCORE": null_if("progress = 0", float_sql("r4")),
            "RESULT": "CASE WHEN progress = 100 THEN " + pick("r5", ("success", "success", "failure")) + " END",
            "PROGRESS": "progress",
            "TIME_SPENT": "CAST(MOD(r6, 50000) / 10 AS NUMBER(37,1))",
            "LAST_ACCESSED_AT": "last_access",
            # ISO texts between CREATED_AT and LAST_ACCESSED_AT
            "ACCESS_DATES": array_sql("r7", lambda r: iso_text(before(f"(off - MOD({r}, off - last_off + 1)) * 1000"))),
            "COMPLETED_AT": "CASE WHEN progress = 100 THEN last_access END",
            "CONTEXT_TYPE": kind,
            "CONTEXT_ID": f"CASE WHEN MOD(r9, 4) < 2 THEN {ref_id('ps', 'r8', sessions)} END",
            "LANG": pick("r8", LANGS),
        },
        created_layers()
        + [
            {
                "progress": "CASE WHEN MOD(r5, 3) = 0 THEN 100 ELSE MOD(r5, 101) END",
                "last_off": "off - MOD(r8, off + 1)",
            },
            {"last_access": before("last_off * 1000")},
        ],
    )


def create_360learning(
    conn: Any, database: str = "LEARNING_360", schema: str = "CORE", scale: int = 1
) -> dict[str, int]:
    """Create and fill the 18 tables of 360Learning Data Connect; returns rows per table."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    ensure_schema(conn, database, schema)
    fills = _fills_360(_sizes_360(scale))
    return {doc.name: create_and_fill(conn, database, schema, doc, fills[doc.name]) for doc in LEARNING_360}

