"""The vendors' documented data models, written once: tables, column types and descriptions.

Transcribed from `shared/reference/` (360Learning Data Connect; DataCamp Data Connector 2.0 fact tables).
The share itself is always discovered from INFORMATION_SCHEMA; these documents add keys, cursors and the
descriptions that land as table and column comments. DataCamp does not publish column types, so the types
below are the ones learnsync's emulated share uses.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT = "VARCHAR(16777216)"
TS = "TIMESTAMP_NTZ(9)"
INT = "NUMBER(38,0)"


@dataclass(frozen=True)
class ColumnDoc:
    """One documented column."""

    name: str
    sf_type: str
    description: str = ""


@dataclass(frozen=True)
class TableDoc:
    """One documented table."""

    name: str
    description: str
    columns: tuple[ColumnDoc, ...]


def _t(name: str, description: str, *cols: tuple[str, str, str]) -> TableDoc:
    return TableDoc(name, description, tuple(ColumnDoc(*c) for c in cols))


_CREATED = ("CREATED_AT", TS, "Creation time (UTC).")

LEARNING_360: tuple[TableDoc, ...] = (
    _t(
        "ASSESSMENTS_OUTLINES",
        "Assessment outlines, one line per assessment.",
        ("ID", TEXT, "Identifier of the assessment outline."),
        _CREATED,
        ("NAME", TEXT, "Title of the assessment."),
        ("ASSESSOR_INSTRUCTIONS", TEXT, "Instructions for the assessor."),
        ("LEARNER_INSTRUCTIONS", TEXT, "Instructions for the learner."),
    ),
    _t(
        "ASSESSMENTS_TRACKINGS",
        "Assessment metrics per user, one line per user per assessment attempt.",
        ("ID", TEXT, "Identifier of the assessment tracking."),
        ("ASSESSMENT_OUTLINE_ID", TEXT, "Identifier of the assessment outline."),
        _CREATED,
        ("USER", TEXT, "Identifier of the user who attempted the assessment."),
        ("CONTEXT_TYPE", TEXT, "Context type of the assessment, for example path."),
        ("CONTEXT_ID", TEXT, "Identifier of the context."),
        ("CORRECTED_AT", TS, "Correction time; null if not corrected yet."),
        ("SCORE", "FLOAT", "Score obtained by the user."),
        ("SUCCESS", "BOOLEAN", "TRUE if the user passed, FALSE if failed, null if not corrected yet."),
        ("CORRECTED_BY", TEXT, "Identifier of the user who validated the assessment."),
        ("ASSESSORS", "ARRAY", "List of the assessors' identifiers."),
    ),
    _t(
        "CLASSROOMS",
        "Classrooms, one line per classroom.",
        ("ID", TEXT, "Identifier of the classroom."),
        _CREATED,
        ("NAME", TEXT, "Title of the classroom."),
        ("MEDIAS", TEXT, "Medias attached to a classroom."),
        ("IS_VIRTUAL", "BOOLEAN", "Whether the classroom is virtual."),
    ),
    _t(
        "CLASSROOMSLOTS",
        "Classroom slots, one line per classroom slot.",
        ("ID", TEXT, "Identifier of the classroom slot."),
        _CREATED,
        ("START_DATE", TS, "Start date and time."),
        ("END_DATE", TS, "End date and time."),
        ("CLASSROOM", TEXT, "Identifier of the classroom."),
        ("NAME", TEXT, "Name of the classroom."),
        ("IS_VIRTUAL", "BOOLEAN", "Whether the slot is virtual."),
        ("LOCATION", TEXT, "Location of the classroom."),
        ("TRAINERS", "ARRAY", "List of trainers identifiers."),
        ("REPORTED_DURATION", INT, "Reported duration of the slot, in whole hours."),
    ),
    _t(
        "CLASSROOMS_TRACKINGS",
        "Classroom participation, one line per classroom per user.",
        ("ID", TEXT, "Identifier of the classroom tracking."),
        _CREATED,
        ("USER", TEXT, "Identifier of the user who participated in the classroom."),
        ("CLASSROOMSLOT", TEXT, "Identifier of the classroom slot."),
        ("CLASSROOM", TEXT, "Identifier of the classroom."),
        ("HAS_ATTENDED", "BOOLEAN", "Whether the user attended."),
        ("CONTEXT_TYPE", TEXT, "Context type in which the classroom took place."),
        ("CONTEXT_ID", TEXT, "Identifier of the context in which the classroom took place."),
    ),
    _t(
        "COURSES",
        "Courses, one line per course.",
        ("ID", TEXT, "Identifier of the course row."),
        _CREATED,
        ("NAME", TEXT, "Name of the course."),
        ("SKILLS", "ARRAY", "List of skills identified for the course."),
        ("IS_SCORM", "BOOLEAN", "Whether the course is a SCORM package."),
        ("CO_AUTHORS", "ARRAY", "List of the co-authors identifiers."),
        ("AUTHOR", TEXT, "Identifier of the course author."),
        ("DESCRIPTION", TEXT, "Description of the course."),
        ("MODIFIED_AT", TS, "Last modification time of the course."),
        ("SOURCE_LANG", TEXT, "The source language of the course."),
        ("COURSE_DURATION", INT, "The estimated duration of the course."),
        ("EXTERNAL_CONTENT", TEXT, "External content provider information, if any."),
        ("ARCHIVED", "BOOLEAN", "Whether the course is archived."),
    ),
    _t(
        "COURSES_TRACKINGS",
        "Users' attempts on courses, one line per user per course attempt.",
        ("ID", TEXT, "Identifier of the course tracking."),
        _CREATED,
        ("COURSE", TEXT, "Identifier of the course."),
        ("USER", TEXT, "Identifier of the user."),
        ("SCORE", "FLOAT", "Score of the user on the attempt."),
        ("RESULT", TEXT, "Result of the user on the attempt."),
        ("PROGRESS", INT, "Completion rate of the user on the attempt."),
        ("TIME_SPENT", "NUMBER(37,1)", "Time spent by the user on the attempt, in minutes."),
        ("LAST_ACCESSED_AT", TS, "Last time the course was accessed by the user."),
        ("ACCESS_DATES", "ARRAY", "Dates and times at which the user accessed the course."),
        ("COMPLETED_AT", TS, "Date and time at which the user completed the course."),
        ("CONTEXT_TYPE", TEXT, "Context in which the course was played."),
        ("CONTEXT_ID", TEXT, "Identifier of the path session in which the course was played."),
        ("LANG", TEXT, "Language the learner is playing the course in."),
    ),
    _t(
        "DAILY_METRICS",
        "Users who logged into the platform each day, one line per day.",
        ("DATE", TS, "Date."),
        ("LOGGED_IN_USERS", "ARRAY", "Identifiers of the users that logged in this day."),
    ),
    _t(
        "GROUPS",
        "Groups of the platform, one line per group.",
        ("ID", TEXT, "Identifier of the group."),
        _CREATED,
        ("OWNER", TEXT, "Identifier of the group owner."),
        ("NAME", TEXT, "Group name."),
        ("ADMINS", "ARRAY", "List of the group administrators identifiers."),
        ("AUTHORS", "ARRAY", "List of the group authors identifiers."),
        ("COACHES", "ARRAY", "List of group coaches."),
        ("PARENT_ID", TEXT, "Identifier of the parent group."),
        ("USERS", "ARRAY", "List of the learners identifiers."),
    ),
    _t(
        "LEARNINGNEEDS",
        "Learning needs, one line per learning need.",
        ("ID", TEXT, "Identifier of the learning need."),
        _CREATED,
        ("NAME", TEXT, "Name of the learning need."),
        ("STATUS", TEXT, "Status of the learning need."),
        ("VOLUNTEERS", "ARRAY", "List of the volunteers' identifiers."),
        ("EXPERTS", "ARRAY", "List of the experts' identifiers."),
        ("GROUP", TEXT, "Group identifier."),
        ("ANSWERS", "ARRAY", "List of answers."),
        ("DELETED_AT", TS, "Deletion date, if applicable."),
        ("DECLARED_BY", TEXT, "Identifier of the user who declared the learning need."),
    ),
    _t(
        "PATHS",
        "Paths, one line per path.",
        ("ID", TEXT, "Identifier of the path."),
        ("NAME", TEXT, "Name of the path."),
        ("AUTHOR", TEXT, "Identifier of the path author."),
        ("CO_AUTHORS", "ARRAY", "List of the co-authors identifiers."),
        ("DESCRIPTION", TEXT, "Path description."),
        ("SOURCE_LANG", TEXT, "Source language of the path."),
        ("MODIFIED_AT", TS, "Last time the path was modified."),
        ("OWNER_GROUP", TEXT, "Identifier of the group that owns the path."),
        ("DURATION", INT, "Estimated duration of the path, in hours."),
        _CREATED,
        ("SKILLS", "ARRAY", "List of the skills identifiers."),
        ("STEPS", "ARRAY", "List of the steps' identifiers (paths, courses, assessments or classrooms)."),
        ("ADDITIONAL_INFORMATION", TEXT, "Content of the additional information field in the path."),
    ),
    _t(
        "PATHS_SESSIONS",
        "Path sessions, one line per path session.",
        ("ID", TEXT, "Identifier of the path session."),
        _CREATED,
        ("NAME", TEXT, "Path session name."),
        ("START_DATE", TS, "Start date of the path session."),
        ("END_DATE", TS, "End date of the path session."),
        ("PATH", TEXT, "Identifier of the path."),
        ("INSTRUCTORS", "ARRAY", "List of the co-instructors' identifiers."),
        ("MAIN_INSTRUCTOR", TEXT, "Main instructor identifier."),
        ("OWNER_GROUP", TEXT, "Identifier of the group that owns the path session."),
        ("MODIFIED_AT", TS, "Last time the path session was modified."),
    ),
    _t(
        "PATHS_TRACKINGS",
        "Path participation, one line per user per path attempt.",
        ("ID", TEXT, "Identifier of the path tracking."),
        _CREATED,
        ("USER", TEXT, "Identifier of the user."),
        ("PATH_ID", TEXT, "Identifier of the path."),
        ("PATH_SESSION", TEXT, "Identifier of the path session."),
        ("SCORE", INT, "Average of the score of all steps in the path."),
        ("PROGRESS", INT, "Percentage of completion of the learner in the path."),
        ("RESULT", TEXT, "Result of the learner in the path."),
        ("ENROLLED", "BOOLEAN", "Whether the learner is enrolled."),
        ("IS_SELF_ENROLLED", "BOOLEAN", "Whether the learner enrolled themselves."),
        ("ENROLLED_AT", TS, "Time of the learner enrollment in the path."),
        ("TIME_SPENT", INT, "Time spent by the learner in the path, in minutes."),
        ("COMPLETED_AT", TS, "Time when the learner completed the path."),
        ("HAS_CERTIFICATE", "BOOLEAN", "Whether the learner has a certificate."),
        ("LEARNER_STATUS", TEXT, "Status of the learner on the path."),
    ),
    _t(
        "POSTS",
        "Posts, one line per post.",
        ("ID", TEXT, "Identifier of the post."),
        _CREATED,
        ("AUTHOR", TEXT, "Identifier of the post author."),
        ("TARGET_ID", TEXT, "Identifier of the context in which the post was published."),
        ("TARGET_TYPE", TEXT, "The context type of the post."),
        ("GROUP", TEXT, "Identifier of the group where the post was published."),
        ("COURSE_ID", TEXT, "Identifier of the course where the post was published."),
        ("COMMENT", TEXT, "Post message."),
    ),
    _t(
        "PROJECTS",
        "Projects, one line per project.",
        ("ID", TEXT, "Identifier of the project."),
        _CREATED,
        ("COMPLETED_AT", TS, "Completion time."),
        ("NAME", TEXT, "Name of the project."),
        ("GROUP", TEXT, "Identifier of the group the project belongs to."),
    ),
    _t(
        "REACTIONS",
        "Reactions, one line per reaction.",
        ("ID", TEXT, "Identifier of the reaction."),
        _CREATED,
        ("AUTHOR_ID", TEXT, "Identifier of the user who reacted."),
        ("GROUP_ID", TEXT, "Identifier of the group the reaction belongs to."),
        ("COURSE_ID", TEXT, "Identifier of the course the reaction belongs to."),
        ("TARGET_ID", TEXT, "Identifier of the target the user reacted to."),
        ("COLLECTION", TEXT, "Type of the target of the reaction."),
        ("ARCHIVED_AT", TS, "Time at which the reaction was archived, if applicable."),
    ),
    _t(
        "SKILLS",
        "Skills, one line per skill.",
        ("ID", TEXT, "Identifier of the skill."),
        _CREATED,
        ("AUTHOR", TEXT, "Identifier of the user who created the skill."),
        ("NAME", TEXT, "Name of the skill."),
        ("EXTERNAL_ID", TEXT, "External identifier of the skill."),
    ),
    _t(
        "USERS",
        "Users, one line per user.",
        ("ID", TEXT, "Identifier of the user."),
        _CREATED,
        # The vendor's page leaves this column's name blank; its definition is "Email of the user".
        ("EMAIL", TEXT, "Email of the user."),
        ("FIRST_NAME", TEXT, "First name of the user."),
        ("LAST_NAME", TEXT, "Last name of the user."),
        ("DELETED", "BOOLEAN", "Whether the user is deleted (soft delete)."),
        ("MANAGERS", "ARRAY", "List of the managers identifiers."),
        ("CUSTOMFIELDS", "ARRAY", "List of custom fields added to the user profile."),
        ("LAST_LOG_IN_AT", TS, "Time the user last logged in."),
        ("EXTERNAL_IDS", "ARRAY", "List of the user external identifiers."),
    ),
)

_FACT_COMMON = (
    ("GROUP_ID", INT, "The unique group identifier."),
    ("USER_ID", INT, "The unique user identifier."),
    ("DATE_ID", INT, "The date identifier (YYYYMMDD)."),
)

DATACAMP_FACTS: tuple[TableDoc, ...] = (
    _t(
        "FACT_LEARN_EVENTS",
        "Learning events and user interactions on the platform.",
        *_FACT_COMMON,
        ("CONTENT_ID", INT, "The unique content identifier."),
        ("COURSE_VARIANT_ID", INT, "The course variant identifier: 1 classic, 2 AI-native."),
        ("TRACK_VERSION_ID", INT, "The unique track identifier."),
        ("ASSIGNMENT_ID", INT, "The unique assignment identifier."),
        ("EVENT_NAME", TEXT, "The name of the event."),
        ("OCCURRED_AT", TS, "The timestamp when the event took place (UTC)."),
        ("XP_EARNED", INT, "The XP earned on the event."),
        ("DURATION_ENGAGED", INT, "Time in seconds the user spent engaged with the content item."),
        ("ASSESSMENT_SCORE", INT, "The assessment score (0-200)."),
        ("ASSESSMENT_PERCENTILE", "FLOAT", "The percentile that corresponds to the assessment score."),
        ("ASSESSMENT_KNOWLEDGE_LEVEL", TEXT, "The skill level that correlates to the assessment score."),
        ("COURSE_IS_SKIPPED", "BOOLEAN", "Whether the course was skipped (course_completed events only)."),
    ),
    _t(
        "FACT_CERTIFICATION_EVENTS",
        "Certification events and user interactions on the platform.",
        *_FACT_COMMON,
        ("CERTIFICATION_ID", INT, "The unique certification identifier."),
        ("EVENT_NAME", TEXT, "The name of the event."),
        ("XP_EARNED", INT, "The XP earned on the event."),
        ("OCCURRED_AT", TS, "The timestamp when the event took place (UTC)."),
        ("ATTEMPT_ID", INT, "The unique certification attempt identifier."),
    ),
    _t(
        "FACT_DATALAB_EVENTS",
        "Events related to interactions within DataLab.",
        *_FACT_COMMON,
        ("WORKBOOK_ID", TEXT, "The unique workbook identifier."),
        ("EVENT_NAME", TEXT, "The name of the event."),
        ("OCCURRED_AT", TS, "The timestamp when the event took place (UTC)."),
        ("DURATION_ENGAGED", INT, "Time in seconds the user was engaged with the workbook."),
    ),
    _t(
        "FACT_PERMISSION_EVENTS",
        "Permission, license and invite related events.",
        ("GROUP_ID", INT, "The unique group identifier if the event is associated with the group."),
        ("TEAM_ID", INT, "The unique team identifier if the event is associated with a team."),
        ("USER_ID", INT, "The unique user identifier if the event is associated with a user."),
        ("EMAIL", TEXT, "The email of the person invited."),
        ("DATE_ID", INT, "The date identifier (YYYYMMDD)."),
        ("EVENT_NAME", TEXT, "The name of the event."),
        ("OCCURRED_AT", TS, "The timestamp when the event took place (UTC)."),
        ("INVITE_ID", INT, "The unique invite identifier."),
        ("IS_ACTIVE", "BOOLEAN", "Whether the subscription or the license is currently active."),
        ("PRODUCT", TEXT, "Product the event is associated to, e.g. learn or workspace."),
        ("LICENSE", TEXT, "License the event is associated to, e.g. enterprise or teams."),
        ("SLUG", TEXT, "The product slug, e.g. learn.enterprise."),
        ("NB_LICENSES_PURCHASED", INT, "The number of licenses purchased."),
    ),
)

# DataCamp documents its fact tables only; the fact tables' documentation names the dimension each id joins
DATACAMP_DIMENSION_JOINS = {
    "DIM_CONTENT": "content_id",
    "DIM_TRACK": "track_version_id",
    "DIM_ASSIGNMENT": "assignment_id",
    "DIM_COURSE_VARIANT": "course_variant_id",
    "DIM_CERTIFICATION": "certification_id",
}
FROM_TABLE_NAME = "Described from the table name: the vendor documents no words for this table."
FROM_COLUMN_NAME = "(from the column name; the vendor documents no words for it)"


def _words(name: str) -> str:
    return name.lower().replace("_", " ").strip()


def _column_words(name: str) -> str:
    upper = name.upper()
    if upper == "ID":
        return "Identifier of the row"
    if upper.endswith("_ID"):
        return f"Identifier of the {_words(upper[:-3])}"
    if upper in ("CREATED_AT", "UPDATED_AT", "MODIFIED_AT"):
        return {"CREATED_AT": "Creation time", "UPDATED_AT": "Last update time", "MODIFIED_AT": "Last change time"}[upper]
    if upper.endswith("_AT"):
        return f"Time of {_words(upper[:-3])}"
    if upper.startswith("IS_"):
        return f"Whether {_words(upper[3:])}"
    if upper.startswith("NB_"):
        return f"Number of {_words(upper[3:])}"
    return _words(upper).capitalize()


def named_doc(vendor: str, table: str, columns: tuple[str, ...]) -> TableDoc:
    """The description of a table `vendor` shares without documenting it (DataCamp's DIM_* tables), from its table
    and column names, every text marked as such; the fact column that joins it where the fact tables' docs say."""
    kind = "dimension" if table.upper().startswith("DIM_") else "table"
    subject = _words(table.upper().removeprefix("DIM_").removeprefix("FACT_"))
    text = f"{vendor} {kind}: {subject}."
    join = DATACAMP_DIMENSION_JOINS.get(table.upper()) if vendor == "DataCamp" else None
    if join:
        text += f" The fact tables join it on {join}."
    return TableDoc(table, f"{text} {FROM_TABLE_NAME}",
                    tuple(ColumnDoc(c, "", f"{_column_words(c)} {FROM_COLUMN_NAME}.") for c in columns))
