"""The dbt package (learnsync/dbt): the generated shares synced by learnsync into DuckDB and Postgres, the project
`learnsync dbt-project` writes built with `dbt build`, and every mart compared with the same metric computed by
SQL written independently, in Snowflake's dialect, over the emulated share through the real connector."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
import yaml

from learnsync import emulator
from learnsync.dbt_project import PACKAGE_DIR, run_dbt
from learnsync.catalog.vendor_docs import DATACAMP_FACTS, LEARNING_360
from tests.support.warehouses import PG_URI, Dest, Share, drop_pg_schema
from tests.support.helpers import run_reconcile, run_sync
from tests.support.cli import in_process, learnsync

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]  # dbt builds the package on every destination

CATALOG = {t.name: t for t in LEARNING_360 + DATACAMP_FACTS + emulator.DATACAMP_DIMENSIONS}
EVENTS = 2000  # DataCamp events in all: enough for every certification outcome and seats in every group


# --------------------------------------------------------------------------------------------------------------
# fixtures: the shares, once; per destination a sync of both vendors and one `dbt build`


@dataclass
class Shares:
    l360: Share
    datacamp: Share
    conn: Any  # a connection to the emulator that reads decimals exactly (as tests/conftest.py's shares do)

    def sql(self, statement: str) -> list[tuple]:
        """Rows of a Snowflake query; {l360} and {dc} name the vendors' schemas."""
        statement = statement.replace("{l360}", f'"{self.l360.database}"."CORE"')
        statement = statement.replace("{dc}", f'"{self.datacamp.database}"."DATA_CONNECTOR"')
        cur = self.conn.cursor()
        try:
            cur.execute(statement)
            return cur.fetchall()
        finally:
            cur.close()


@pytest.fixture(scope="module")
def shares(server: Any) -> Iterator[Shares]:
    conn = server.connect(arrow_number_to_decimal=True)
    suffix = uuid.uuid4().hex[:8].upper()
    l360 = Share(server, f"L360_{suffix}", "CORE", conn)
    datacamp = Share(server, f"DC_{suffix}", "DATA_CONNECTOR", conn)
    emulator.create_360learning(conn, database=l360.database, schema="CORE")
    emulator.create_datacamp(conn, database=datacamp.database, schema="DATA_CONNECTOR", events=EVENTS)
    yield Shares(l360, datacamp, conn)
    conn.close()


@dataclass
class Built:
    """A destination holding both vendors' synced datasets and the package built over them."""

    dest: Dest  # its dataset is the 360Learning one
    datacamp: str  # the DataCamp dataset
    schema: str  # where the models are
    project: Path
    build: subprocess.CompletedProcess | None = None  # `dbt build`, when the test ran it
    demo_rows: list[dict[str, Any]] | None = None  # what build_demo_mart returned, when it built

    def mart(self, name: str, columns: str = "*") -> list[tuple]:
        return self.dest.query(f'SELECT {columns} FROM "{self.schema}"."{name}"')


def _sync_and_build(kind: str, shares: Shares, tmp: Path, prefix: str) -> Built:
    """Both vendors synced into one destination (datasets `<prefix>_l360`, `<prefix>_dc`) and the package built.

    Postgres: the project written by `learnsync dbt-project` (models in `<prefix>_dbt`), `dbt deps` and `dbt
    build` run, the outcome left to the caller. DuckDB: the demo's step, `build_demo_mart` (models in
    `learnsync_dbt`), which raises when the build fails; the mart it returns is checked by `_demo_mart`."""
    datasets = {"360learning": f"{prefix}_l360", "datacamp": f"{prefix}_dc"}
    if kind == "duckdb":
        path = tmp / "learnsync-warehouse.duckdb"  # a dash, as in the demo's file: dbt-duckdb's catalog name
        dest = Dest("duckdb", f"duckdb:///{path}", datasets["360learning"], path)
    else:
        dest = Dest("postgres", PG_URI, datasets["360learning"], tmp)
    built = Built(dest, datasets["datacamp"], f"{prefix}_dbt", tmp / "project")
    run_sync(shares.l360, dest)
    run_sync(shares.datacamp, Dest(dest.kind, dest.uri, datasets["datacamp"], dest.path), profile="datacamp")
    if kind == "duckdb":
        from learnsync.dbt_project import DEFAULT_SCHEMA, build_demo_mart

        built.schema = DEFAULT_SCHEMA
        built.demo_rows = build_demo_mart(path, datasets=datasets, project_dir=built.project)
        return built
    proc = learnsync(
        "dbt-project", "--profile", "both", "--360learning-dataset", datasets["360learning"],
        "--datacamp-dataset", datasets["datacamp"], "--dest-uri", dest.uri, "--schema", built.schema,
        "--output", str(built.project), cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr
    deps = run_dbt(built.project, "deps")
    assert deps.returncode == 0, deps.stdout[-3000:]
    built.build = run_dbt(built.project, "build")
    return built


def _results(project: Path) -> list[dict[str, Any]]:
    return json.loads((project / "target" / "run_results.json").read_text())["results"]


# --------------------------------------------------------------------------------------------------------------
# comparing a mart with its independent computation


def _value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime) and v.tzinfo is not None:
        raise AssertionError(f"timestamp with a zone: {v!r}")
    return v


def _same(a: Any, b: Any) -> bool:
    a, b = _value(a), _value(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def assert_rows_match(got: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]], what: str, key: int = 1) -> None:
    """The same rows, keyed by their first `key` values; numbers compared to 1e-9 (decimals vs floats)."""

    def keyed(rows: Sequence[Sequence[Any]]) -> dict[tuple, tuple]:
        out = {tuple(_value(v) for v in r[:key]): tuple(r) for r in rows}
        assert len(out) == len(rows), f"{what}: duplicate keys"
        return out

    g, e = keyed(got), keyed(expected)
    assert set(g) == set(e), f"{what}: keys differ, only in mart {sorted(set(g) - set(e), key=repr)[:5]}," \
                             f" only in share {sorted(set(e) - set(g), key=repr)[:5]}"
    wrong = [(k, g[k], e[k]) for k in e if len(g[k]) != len(e[k]) or not all(map(_same, g[k], e[k]))]
    assert not wrong, f"{what}: {len(wrong)} rows differ, e.g. mart {wrong[0][1]} vs share {wrong[0][2]}"


# a user counts unless 360Learning flags them deleted (ids the users table lacks count too)
KEPT_USER = 'COALESCE(NOT u."DELETED", TRUE)'


# --------------------------------------------------------------------------------------------------------------
# the build and every mart, per destination: one test, so that a parallel run (pytest-xdist) syncs and builds
# each destination once; every mart is checked and all mismatches reported together


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
@pytest.mark.long
def test_package_builds_and_marts_match_the_share(kind: str, shares: Shares, tmp_path: Path) -> None:
    prefix = f"t_{uuid.uuid4().hex[:8]}"
    try:
        built = _sync_and_build(kind, shares, tmp_path, prefix)
        _check_build(built)
        _check_staging(built, shares)
        checks = [_daily_active_learners, _course_completion_funnel, _path_progress, _assessment_success,
                  _completion_trend, _weekly_user_engagement, _certification_attempts, _license_utilisation,
                  _content_activity]
        if kind == "duckdb":  # the same models on every destination: their columns, once; and the demo's step
            checks += [_every_model_documents_its_columns, _demo_mart]
        failed = []
        for check in checks:
            try:
                check(built, shares)
            except AssertionError as exc:
                failed.append(f"{check.__name__}: {exc}")
        assert not failed, "\n".join(failed)
    finally:
        if kind == "postgres":
            for schema in ("l360", "dc", "dbt"):
                drop_pg_schema(f"{prefix}_{schema}")


def _check_build(built: Built) -> None:
    if built.build is not None:
        assert built.build.returncode == 0, built.build.stdout[-4000:]
    results = _results(built.project)
    models = {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}
    staging = {p.stem for p in PACKAGE_DIR.glob("models/staging/*/*.sql")}
    marts = {p.stem for p in PACKAGE_DIR.glob("models/marts/*/*.sql")}
    assert models == staging | marts and len(staging) == 47 and len(marts) == 9
    # severity-warn tests (vendor rules, foreign keys the share does not enforce) pass on this data too
    assert {r["status"] for r in results} == {"success", "pass"}, [
        (r["unique_id"], r["status"], r.get("message")) for r in results if r["status"] not in ("success", "pass")]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) > 250
    # every model has tests
    nodes = json.loads((built.project / "target" / "manifest.json").read_text())["nodes"]
    tested = {dep.split(".")[-1] for r in tests for dep in nodes[r["unique_id"]]["depends_on"]["nodes"]}
    assert models <= tested, models - tested


def _check_staging(built: Built, shares: Shares) -> None:
    """Every staging model holds every row of its table, every bridge every element of its array; types."""
    for model in _models_yml():
        meta = model.get("config", {}).get("meta", {})
        if "learnsync_table" not in meta:
            continue  # a mart
        table = f'{"{dc}" if model["name"].startswith("stg_datacamp") else "{l360}"}."{meta["learnsync_table"]}"'
        if "learnsync_array" in meta:
            sql = f'SELECT COUNT(*) FROM {table} t, LATERAL FLATTEN(input => t."{meta["learnsync_array"]}") f'
        else:
            sql = f"SELECT COUNT(*) FROM {table}"
        assert built.mart(model["name"], "count(*)") == shares.sql(sql), model["name"]
    members = shares.sql(
        'SELECT g."ID", f.INDEX, f.VALUE::STRING FROM {l360}."GROUPS" g, LATERAL FLATTEN(input => g."USERS") f')
    assert members and sorted(built.mart("stg_360learning__group_members", "group_id, position, user_id")) == sorted(members)
    deleted = shares.sql('SELECT "ID" FROM {l360}.USERS WHERE "DELETED"')
    flagged = [r for r in built.mart("stg_360learning__users", "user_id, is_deleted") if r[1]]
    assert deleted and sorted(flagged) == sorted((i, True) for (i,) in deleted)
    got = built.dest.query(
        f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '{built.schema}'"
        " AND table_name = 'stg_360learning__courses_trackings'")
    types = {c: t.lower() for c, t in got}
    assert types["time_spent_minutes"].startswith(("numeric", "decimal"))
    assert types["score"] in ("double", "double precision")  # never DuckDB's 4-byte FLOAT
    assert types["completed_at"].startswith("timestamp") and "with time zone" not in types["completed_at"]
    days = built.mart("stg_360learning__daily_logged_in_users", "min(activity_date), max(activity_date)")
    assert days == shares.sql('SELECT MIN("DATE")::DATE, MAX("DATE")::DATE FROM {l360}.DAILY_METRICS')


# --------------------------------------------------------------------------------------------------------------
# 360Learning marts


def _daily_active_learners(built: Built, shares: Shares) -> None:
    expected = shares.sql(f"""
        WITH logins AS (
            SELECT CAST(d."DATE" AS DATE) AS day, f.VALUE::STRING AS user_id
            FROM {{l360}}.DAILY_METRICS d, LATERAL FLATTEN(input => d.LOGGED_IN_USERS) f
        )
        SELECT CAST(d."DATE" AS DATE), COUNT(DISTINCT IFF({KEPT_USER}, l.user_id, NULL))
        FROM {{l360}}.DAILY_METRICS d
        LEFT JOIN logins l ON l.day = CAST(d."DATE" AS DATE)
        LEFT JOIN {{l360}}.USERS u ON u."ID" = l.user_id
        GROUP BY 1""")
    assert len(expected) == 60 and any(n == 0 for _, n in expected) and max(n for _, n in expected) > 2
    assert_rows_match(built.mart("learning360__daily_active_learners"), expected, "daily active learners")


def _course_completion_funnel(built: Built, shares: Shares) -> None:
    expected = shares.sql(f"""
        WITH t AS (
            SELECT t.* FROM {{l360}}.COURSES_TRACKINGS t LEFT JOIN {{l360}}.USERS u ON u."ID" = t."USER"
            WHERE {KEPT_USER}
        ),
        c AS (
            SELECT c."ID", c."NAME", c."ARCHIVED", COUNT(t."ID") AS attempts, COUNT(DISTINCT t."USER") AS learners,
                   COUNT_IF(t."PROGRESS" > 0) AS started, COUNT_IF(t."COMPLETED_AT" IS NOT NULL) AS completed,
                   COUNT_IF(t."COMPLETED_AT" IS NOT NULL AND t."RESULT" = 'success') AS successful,
                   MEDIAN(IFF(t."COMPLETED_AT" IS NOT NULL, t."TIME_SPENT", NULL)) AS median_minutes
            FROM {{l360}}.COURSES c LEFT JOIN t ON t."COURSE" = c."ID"
            GROUP BY 1, 2, 3
        )
        SELECT "ID", "NAME", "ARCHIVED", attempts, learners, started, completed, successful,
               completed / NULLIF(attempts, 0), successful / NULLIF(completed, 0), median_minutes
        FROM c""")
    # trackings of deleted users exist, so leaving them out matters
    assert shares.sql('SELECT COUNT(*) FROM {l360}.COURSES_TRACKINGS t JOIN {l360}.USERS u ON u."ID" = t."USER"'
                      ' WHERE u."DELETED"')[0][0] > 0
    assert_rows_match(built.mart("learning360__course_completion_funnel"), expected, "course completion funnel")


def _path_progress(built: Built, shares: Shares) -> None:
    expected = shares.sql(f"""
        WITH t AS (
            SELECT t.* FROM {{l360}}.PATHS_TRACKINGS t LEFT JOIN {{l360}}.USERS u ON u."ID" = t."USER"
            WHERE {KEPT_USER}
        ),
        latest AS (
            SELECT * FROM t
            QUALIFY ROW_NUMBER() OVER (PARTITION BY "USER", "PATH_ID"
                                       ORDER BY "ENROLLED_AT" DESC NULLS LAST, "CREATED_AT" DESC NULLS LAST, "ID" DESC) = 1
        ),
        agg AS (
            SELECT "USER", "PATH_ID", COUNT(*) AS attempts, MAX("PROGRESS") AS best, SUM("TIME_SPENT") AS spent,
                   MIN("COMPLETED_AT") AS first_completed, BOOLOR_AGG(COALESCE("HAS_CERTIFICATE", FALSE)) AS cert
            FROM t GROUP BY 1, 2
        )
        SELECT agg."USER", agg."PATH_ID", p."NAME", agg.attempts, l."ID", l."PATH_SESSION", l."ENROLLED_AT",
               l."PROGRESS", l."RESULT", l."LEARNER_STATUS", agg.best, agg.spent, agg.first_completed IS NOT NULL,
               agg.first_completed, agg.cert
        FROM agg JOIN latest l ON l."USER" = agg."USER" AND l."PATH_ID" = agg."PATH_ID"
        LEFT JOIN {{l360}}.PATHS p ON p."ID" = agg."PATH_ID" """)
    assert any(r[3] > 1 for r in expected)  # learners with several attempts: "latest" is tested
    assert_rows_match(built.mart("learning360__path_progress"), expected, "path progress", key=2)


def _assessment_success(built: Built, shares: Shares) -> None:
    expected = shares.sql(f"""
        WITH t AS (
            SELECT t.*, t."CORRECTED_AT" IS NOT NULL AS corrected
            FROM {{l360}}.ASSESSMENTS_TRACKINGS t LEFT JOIN {{l360}}.USERS u ON u."ID" = t."USER"
            WHERE {KEPT_USER}
        )
        SELECT o."ID", o."NAME", COUNT(t."ID"), COUNT(DISTINCT t."USER"), COUNT_IF(corrected),
               COUNT(t."ID") - COUNT_IF(corrected), COUNT_IF(corrected AND t."SUCCESS"),
               COUNT_IF(corrected AND NOT t."SUCCESS"),
               COUNT_IF(corrected AND t."SUCCESS") / NULLIF(COUNT_IF(corrected), 0),
               AVG(IFF(corrected AND t."SCORE" NOT IN ('NaN'::FLOAT, 'inf'::FLOAT, '-inf'::FLOAT), t."SCORE", NULL))
        FROM {{l360}}.ASSESSMENTS_OUTLINES o LEFT JOIN t ON t."ASSESSMENT_OUTLINE_ID" = o."ID"
        GROUP BY 1, 2""")
    # scores that are NaN or infinite exist and must not reach the average
    assert shares.sql("SELECT COUNT(*) FROM {l360}.ASSESSMENTS_TRACKINGS"
                      " WHERE \"SCORE\" IN ('NaN'::FLOAT, 'inf'::FLOAT, '-inf'::FLOAT)")[0][0] > 0
    assert_rows_match(built.mart("learning360__assessment_success"), expected, "assessment success")


def _completion_trend(built: Built, shares: Shares) -> None:
    expected = shares.sql(f"""
        WITH t AS (
            SELECT DATE_TRUNC('week', t."CREATED_AT")::DATE AS created, DATE_TRUNC('week', t."COMPLETED_AT")::DATE AS done
            FROM {{l360}}.COURSES_TRACKINGS t LEFT JOIN {{l360}}.USERS u ON u."ID" = t."USER"
            WHERE {KEPT_USER}
        ),
        bounds AS (SELECT LEAST(MIN(created), MIN(done)) AS first_week, GREATEST(MAX(created), MAX(done)) AS last_week FROM t),
        weeks AS (
            SELECT DATEADD(week, n, first_week)::DATE AS week
            FROM (SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 AS n FROM TABLE(GENERATOR(ROWCOUNT => 200))) g, bounds
            WHERE DATEADD(week, n, first_week) <= last_week
        ),
        weekly AS (
            SELECT w.week, (SELECT COUNT(*) FROM t WHERE created = w.week) AS created_n,
                   (SELECT COUNT(*) FROM t WHERE done = w.week) AS done_n
            FROM weeks w
        )
        SELECT week, created_n, done_n,
               SUM(created_n) OVER (ORDER BY week), SUM(done_n) OVER (ORDER BY week),
               SUM(done_n) OVER (ORDER BY week) / NULLIF(SUM(created_n) OVER (ORDER BY week), 0)
        FROM weekly""")
    assert len(expected) > 10
    assert_rows_match(built.mart("learning360__completion_trend", TREND_COLUMNS), expected, "completion trend")
    # without history the rate as recorded is not known
    assert built.mart("learning360__completion_trend", "count(completion_rate_recorded)") == [(0,)]


TREND_COLUMNS = ("week_start, attempts_created, attempts_completed, attempts_created_to_date,"
                 " attempts_completed_to_date, completion_rate_to_date")


# --------------------------------------------------------------------------------------------------------------
# DataCamp marts


def _weekly_user_engagement(built: Built, shares: Shares) -> None:
    expected = shares.sql("""
        WITH e AS (
            SELECT "USER_ID" AS u, DATE_TRUNC('week', "OCCURRED_AT")::DATE AS wk, "XP_EARNED" AS lxp, NULL AS cxp,
                   "DURATION_ENGAGED" AS ls, NULL AS ds, 1 AS le, 0 AS de,
                   IFF("EVENT_NAME" = 'course_completed', 1, 0) AS cc,
                   IFF("EVENT_NAME" IN ('assignment_completed', 'assignment_completed_late'), 1, 0) AS ac
            FROM {dc}.FACT_LEARN_EVENTS
            UNION ALL
            SELECT "USER_ID", DATE_TRUNC('week', "OCCURRED_AT")::DATE, NULL, NULL, NULL,
                   IFF("EVENT_NAME" = 'workspace_visited', "DURATION_ENGAGED", NULL), 0, 1, 0, 0
            FROM {dc}.FACT_DATALAB_EVENTS
            UNION ALL
            SELECT "USER_ID", DATE_TRUNC('week', "OCCURRED_AT")::DATE, NULL, "XP_EARNED", NULL, NULL, 0, 0, 0, 0
            FROM {dc}.FACT_CERTIFICATION_EVENTS
        )
        SELECT u, wk, COALESCE(SUM(lxp), 0) + COALESCE(SUM(cxp), 0), COALESCE(SUM(lxp), 0), COALESCE(SUM(cxp), 0),
               COALESCE(SUM(ls), 0) / 60, COALESCE(SUM(ds), 0) / 60, (COALESCE(SUM(ls), 0) + COALESCE(SUM(ds), 0)) / 60,
               SUM(le), SUM(de), SUM(cc), SUM(ac)
        FROM e GROUP BY 1, 2""")
    assert_rows_match(built.mart("datacamp__weekly_user_engagement"), expected, "weekly user engagement", key=2)
    # the documented gotcha matters on this data: summing workspace_viewed too would add time
    (viewed,) = shares.sql("SELECT SUM(\"DURATION_ENGAGED\") FROM {dc}.FACT_DATALAB_EVENTS"
                           " WHERE \"EVENT_NAME\" = 'workspace_viewed'")[0]
    assert viewed > 0
    # assignment events carry no XP or duration, and the mart still counts the completed ones
    assert shares.sql("SELECT COUNT(*), COUNT(\"XP_EARNED\"), COUNT(\"DURATION_ENGAGED\") FROM {dc}.FACT_LEARN_EVENTS"
                      " WHERE \"EVENT_NAME\" LIKE 'assignment%'")[0][1:] == (0, 0)
    assert sum(r[0] for r in built.mart("datacamp__weekly_user_engagement", "assignments_completed")) > 0


def _certification_attempts(built: Built, shares: Shares) -> None:
    expected = shares.sql("""
        WITH e AS (SELECT * FROM {dc}.FACT_CERTIFICATION_EVENTS),
        milestone AS (
            SELECT "ATTEMPT_ID", REPLACE("EVENT_NAME", 'certification_', '') AS outcome, "OCCURRED_AT" AS at FROM e
            WHERE "EVENT_NAME" IN ('certification_granted', 'certification_failed', 'certification_expired',
                                   'certification_withdrawn')
            QUALIFY ROW_NUMBER() OVER (PARTITION BY "ATTEMPT_ID" ORDER BY "OCCURRED_AT" DESC, "EVENT_NAME") = 1
        ),
        component AS (
            SELECT "ATTEMPT_ID", SPLIT_PART(REPLACE(REPLACE(REPLACE("EVENT_NAME", 'certification_skill_assessment',
                   'skill-assessment'), 'certification_case_study', 'case-study'), 'certification_', ''), '_', 1) AS part,
                   SPLIT_PART("EVENT_NAME", '_', -1) AS result
            FROM e
            WHERE SPLIT_PART("EVENT_NAME", '_', -1) IN ('passed', 'failed', 'expired')
              AND "EVENT_NAME" NOT IN ('certification_failed', 'certification_expired')
            QUALIFY ROW_NUMBER() OVER (PARTITION BY "ATTEMPT_ID", part ORDER BY "OCCURRED_AT" DESC, "EVENT_NAME") = 1
        ),
        a AS (
            SELECT "ATTEMPT_ID", MAX("USER_ID") AS u, MAX("GROUP_ID") AS g, MAX("CERTIFICATION_ID") AS c,
                   MIN(IFF("EVENT_NAME" = 'certification_registered', "OCCURRED_AT", NULL)) AS registered,
                   BOOLOR_AGG("EVENT_NAME" = 'certification_skill_assessment_registered') AS sa,
                   BOOLOR_AGG("EVENT_NAME" = 'certification_project_registered') AS pr,
                   BOOLOR_AGG("EVENT_NAME" = 'certification_case_study_registered') AS cs,
                   MIN("OCCURRED_AT") AS first_at, MAX("OCCURRED_AT") AS last_at, COUNT(*) AS n, SUM("XP_EARNED") AS xp
            FROM e GROUP BY 1
        )
        SELECT a."ATTEMPT_ID", u, g, c, d."NAME", registered IS NOT NULL, registered,
               sa, (SELECT result FROM component x WHERE x."ATTEMPT_ID" = a."ATTEMPT_ID" AND part = 'skill-assessment'),
               pr, (SELECT result FROM component x WHERE x."ATTEMPT_ID" = a."ATTEMPT_ID" AND part = 'project'),
               cs, (SELECT result FROM component x WHERE x."ATTEMPT_ID" = a."ATTEMPT_ID" AND part = 'case-study'),
               COALESCE(m.outcome, 'in_progress'), COALESCE(m.outcome = 'granted', FALSE), m.at,
               DATEDIFF('day', registered, m.at), first_at, last_at, n, xp
        FROM a LEFT JOIN milestone m ON m."ATTEMPT_ID" = a."ATTEMPT_ID"
        LEFT JOIN {dc}.DIM_CERTIFICATION d ON d."CERTIFICATION_ID" = c""")
    outcomes = {r[13] for r in expected}
    assert outcomes == {"granted", "failed", "expired", "withdrawn", "in_progress"}
    assert_rows_match(built.mart("datacamp__certification_attempts"), expected, "certification attempts")


def _license_utilisation(built: Built, shares: Shares) -> None:
    expected = shares.sql("""
        WITH ev AS (SELECT * FROM {dc}.FACT_PERMISSION_EVENTS WHERE "GROUP_ID" IS NOT NULL AND "SLUG" IS NOT NULL),
        bounds AS (SELECT MIN("OCCURRED_AT")::DATE AS d0, MAX("OCCURRED_AT")::DATE AS d1 FROM ev),
        days AS (
            SELECT DATEADD(day, n, d0)::DATE AS day
            FROM (SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 AS n FROM TABLE(GENERATOR(ROWCOUNT => 400))) g, bounds
            WHERE n <= DATEDIFF(day, d0, d1)
        ),
        licences AS (SELECT "GROUP_ID", "SLUG", MIN("OCCURRED_AT")::DATE AS first_day FROM ev GROUP BY 1, 2),
        grid AS (SELECT day, "GROUP_ID", "SLUG" FROM days JOIN licences ON first_day <= day),
        -- the state at the end of each day: the latest event before midnight (a tie: the active state)
        sub AS (
            SELECT grid.day, grid."GROUP_ID", grid."SLUG", e."EVENT_NAME", e."NB_LICENSES_PURCHASED", e."PRODUCT",
                   e."LICENSE"
            FROM grid JOIN ev e ON e."GROUP_ID" = grid."GROUP_ID" AND e."SLUG" = grid."SLUG"
             AND e."EVENT_NAME" IN ('subscription_started', 'subscription_ended')
             AND e."OCCURRED_AT" < DATEADD(day, 1, grid.day)
            QUALIFY ROW_NUMBER() OVER (PARTITION BY grid.day, grid."GROUP_ID", grid."SLUG"
                                       ORDER BY e."OCCURRED_AT" DESC, e."EVENT_NAME" DESC) = 1
        ),
        seat AS (
            SELECT grid.day, grid."GROUP_ID", grid."SLUG", e."USER_ID", e."EVENT_NAME"
            FROM grid JOIN ev e ON e."GROUP_ID" = grid."GROUP_ID" AND e."SLUG" = grid."SLUG"
             AND e."EVENT_NAME" IN ('user_license_allocated', 'user_license_revoked') AND e."USER_ID" IS NOT NULL
             AND e."OCCURRED_AT" < DATEADD(day, 1, grid.day)
            QUALIFY ROW_NUMBER() OVER (PARTITION BY grid.day, grid."GROUP_ID", grid."SLUG", e."USER_ID"
                                       ORDER BY e."OCCURRED_AT" DESC, e."EVENT_NAME") = 1
        ),
        seats AS (
            SELECT day, "GROUP_ID", "SLUG", COUNT(*) AS n FROM seat WHERE "EVENT_NAME" = 'user_license_allocated'
            GROUP BY 1, 2, 3
        )
        SELECT grid.day, grid."GROUP_ID", grid."SLUG", sub."PRODUCT", sub."LICENSE",
               IFF(sub."EVENT_NAME" = 'subscription_started', COALESCE(sub."NB_LICENSES_PURCHASED", 0), 0),
               COALESCE(seats.n, 0),
               COALESCE(seats.n, 0) / NULLIF(IFF(sub."EVENT_NAME" = 'subscription_started', sub."NB_LICENSES_PURCHASED", 0), 0)
        FROM grid
        LEFT JOIN sub ON sub.day = grid.day AND sub."GROUP_ID" = grid."GROUP_ID" AND sub."SLUG" = grid."SLUG"
        LEFT JOIN seats ON seats.day = grid.day AND seats."GROUP_ID" = grid."GROUP_ID" AND seats."SLUG" = grid."SLUG"
        """)
    # the renewal of group 1002's learn licences shows, and revoked seats leave the count
    renewal = {r[5] for r in expected if r[1] == 1002 and r[2] == "learn.enterprise"}
    assert renewal == {30, 60}
    assert_rows_match(built.mart("datacamp__license_utilisation"), expected, "licence utilisation", key=3)


def _content_activity(built: Built, shares: Shares) -> None:
    expected = shares.sql("""
        SELECT e."CONTENT_ID", e."COURSE_VARIANT_ID", ANY_VALUE(v."NAME"), ANY_VALUE(c."TITLE"),
               ANY_VALUE(c."CONTENT_TYPE"), ANY_VALUE(c."TECHNOLOGY"), ANY_VALUE(c."CONTENT_ID") IS NULL, COUNT(*),
               COUNT(DISTINCT e."USER_ID"),
               COUNT_IF(e."EVENT_NAME" IN ('course_started', 'assessment_started', 'project_started')),
               COUNT_IF(e."EVENT_NAME" IN ('course_completed', 'assessment_completed', 'practice_completed',
                                           'project_completed')),
               COALESCE(SUM(e."XP_EARNED"), 0), COALESCE(SUM(e."DURATION_ENGAGED"), 0) / 60
        FROM {dc}.FACT_LEARN_EVENTS e
        LEFT JOIN {dc}.DIM_CONTENT c ON c."CONTENT_ID" = e."CONTENT_ID"
        LEFT JOIN {dc}.DIM_COURSE_VARIANT v ON v."COURSE_VARIANT_ID" = e."COURSE_VARIANT_ID"
        WHERE e."CONTENT_ID" IS NOT NULL
        GROUP BY 1, 2""")
    assert_rows_match(built.mart("datacamp__content_activity"), expected, "content activity", key=2)
    rows = built.mart("datacamp__content_activity", "content_id, course_variant_id, is_content_deleted, completions")
    # events on content deleted from dim_content are kept, and both variants of one course are separate rows
    assert any(deleted for _, _, deleted, _ in rows)
    completed = {(c, v) for c, v, _, n in rows if n}
    assert any((c, 1) in completed and (c, 2) in completed for c, _ in completed)


# --------------------------------------------------------------------------------------------------------------
# the package's documentation: one source of truth (the vendors' catalog), checked


def _models_yml() -> list[dict[str, Any]]:
    models = []
    for path in sorted(PACKAGE_DIR.glob("models/**/*.yml")):
        models += yaml.safe_load(path.read_text()).get("models", [])
    return models


def test_docs_follow_the_catalog() -> None:
    """Staging YAML says what the catalog (catalog/vendor_docs.py, DATACAMP_DIMENSIONS) says, and covers it."""
    seen = set()
    for model in _models_yml():
        assert model.get("description"), model["name"]
        table = model.get("config", {}).get("meta", {}).get("learnsync_table")
        if table and "learnsync_array" not in model["config"]["meta"]:
            assert model["description"].startswith(CATALOG[table].description), model["name"]
        for column in model["columns"]:
            assert column.get("description"), (model["name"], column["name"])
            ref = column.get("config", {}).get("meta", {}).get("learnsync_column")
            if ref:
                table, name = ref.split(".")
                doc = next(c for c in CATALOG[table].columns if c.name == name)
                assert column["description"].startswith(doc.description), (model["name"], column["name"])
                seen.add(ref)
    documented = {f"{t.name}.{c.name}" for t in CATALOG.values() for c in t.columns}
    assert documented == seen, documented ^ seen


def _every_model_documents_its_columns(built: Built, shares: Shares) -> None:
    """The YAML lists exactly the columns each built model has (checked on the warehouse)."""
    got: dict[str, set[str]] = {}
    for table, column in built.dest.query(
            f"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '{built.schema}'"):
        got.setdefault(table, set()).add(column)
    assert {m["name"]: {c["name"] for c in m["columns"]} for m in _models_yml()} == got


# --------------------------------------------------------------------------------------------------------------
# using it: the command, one vendor only, BigQuery, soft deletes, the demo's step


def test_one_vendor_project_enables_only_its_models(tmp_path: Path) -> None:
    proc = learnsync("dbt-project", "--profile", "datacamp", "--dataset", "dc", "--dest-uri",
                     f"duckdb:///{tmp_path}/w.duckdb", "--output", str(tmp_path / "p"), "--no-check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    project = yaml.safe_load((tmp_path / "p" / "dbt_project.yml").read_text())
    assert project["vars"] == {"learnsync_datacamp_schema": "dc"}
    assert run_dbt(tmp_path / "p", "deps").returncode == 0
    listed = run_dbt(tmp_path / "p", "ls", "--resource-type", "model", "--resource-type", "source",
                     "--resource-type", "test", "--output", "name", "--quiet")
    assert listed.returncode == 0, listed.stdout[-3000:]
    names = listed.stdout.split()
    assert names and not [n for n in names if "360learning" in n]
    assert "stg_datacamp__fact_learn_events" in names and "datacamp__license_utilisation" in names


def test_cli_help_and_user_errors(tmp_path: Path) -> None:
    """In this process (CliRunner): every case ends before dbt runs."""
    proc = in_process("dbt-project", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "--360learning-dataset" in proc.stdout, proc.stdout + proc.stderr
    for args, needle in (
        (["--profile", "auto"], "360learning, datacamp or both"),
        (["--dataset", "bad;name"], "Invalid dataset name"),
        (["--schema", "x-y"], "Invalid dataset name"),
        (["--dest-uri", "file:///tmp/x"], "dbt cannot build in the destination"),
        (["--dest-uri", "oracle://x/y"], "dbt cannot build in the destination"),
        (["--dest-uri", "postgresql://u@/"], "needs a host"),
    ):
        proc = in_process("dbt-project", *args, "--output", str(tmp_path / "p"), cwd=tmp_path)
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "p").exists()
    # --no-check: the project of a warehouse not synced yet (./learnsync.duckdb does not exist)
    ok = in_process("dbt-project", "--output", str(tmp_path / "p"), "--no-check", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    again = in_process("dbt-project", "--output", str(tmp_path / "p"), "--no-check", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a dbt project" in again.stderr
    # no secret in the profile: a password in the URI goes nowhere, dbt reads it from learnsync's variable; the
    # login is refused (no such role or database), so the datasets are not checked, which a warning says
    proc = in_process("dbt-project", "--dest-uri", "postgresql://loader:Sekret-9x@127.0.0.1:5432/wh", "--force",
                      "--output", str(tmp_path / "p"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Sekret" not in proc.stdout + proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:")] == [
        ln for ln in proc.stderr.splitlines() if "not checked" in ln], proc.stderr
    text = (tmp_path / "p" / "profiles.yml").read_text()
    assert "Sekret" not in text and "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD" in text


def test_the_project_points_at_datasets_that_hold_each_vendors_tables(share: Share, tmp_path: Path) -> None:
    """`dbt-project` asks the destination: a dataset that holds none of a vendor's tables is one line naming it,
    where the vendor's tables are and the flag to set (dbt build would fail on every model); nothing is written.
    A destination that cannot be reached is a warning, and the project is written."""
    emulator.create_360learning(share.conn, share.database, share.schema)
    path = tmp_path / "w.duckdb"
    run_sync(share, Dest("duckdb", f"duckdb:///{path}", "l360", path), tables=["USERS"])
    uri, out = f"duckdb:///{path}", str(tmp_path / "p")

    def error(*args: str) -> str:
        proc = in_process("dbt-project", "--dest-uri", uri, "--output", out, *args, cwd=tmp_path)
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert not (tmp_path / "p").exists()
        return lines[0]

    assert "Dataset 'learning' " in error() and "set --dataset l360" in error()
    both = error("--profile", "both", "--360learning-dataset", "l360")
    assert "'learning'" in both and "no DataCamp tables" in both and "--datacamp-dataset" in both, both
    assert "no DataCamp tables" in error("--profile", "datacamp", "--dataset", "l360")
    assert "does not exist" in error("--dataset", "l360", "--dest-uri", f"duckdb:///{tmp_path}/none.duckdb")
    ok = in_process("dbt-project", "--dest-uri", uri, "--output", out, "--dataset", "l360", cwd=tmp_path)
    assert ok.returncode == 0 and not ok.stderr, ok.stderr
    assert yaml.safe_load((tmp_path / "p" / "dbt_project.yml").read_text())["vars"] == {"learnsync_360learning_schema": "l360"}
    down = in_process("dbt-project", "--dest-uri", f"postgresql://postgres@127.0.0.1:{_closed_port()}/test",
                      "--output", str(tmp_path / "q"), cwd=tmp_path)
    assert down.returncode == 0 and (tmp_path / "q" / "dbt_project.yml").exists(), down.stderr
    assert [ln for ln in down.stderr.splitlines() if ln.strip()] == [
        next(ln for ln in down.stderr.splitlines() if ln.startswith("warning: the datasets were not checked"))]


def test_bigquery_compiles(tmp_path: Path) -> None:
    """`dbt compile` for BigQuery with dbt-bigquery, offline: no credentials, an API endpoint on a closed loopback
    port (nothing may leave the machine), no relation cache, optional columns not looked up (learnsync_introspect).
    Compiling renders every model in BigQuery's dialect; the SQL is then parsed by sqlglot's BigQuery dialect.
    Neither runs it: BigQuery's own checks (types, functions) happen only on a real dataset."""
    pytest.importorskip("dbt.adapters.bigquery", reason="dbt-bigquery is not installed")
    import sqlglot

    project = tmp_path / "p"
    # --no-check: checking the datasets would ask BigQuery itself, which nothing here may reach
    proc = learnsync("dbt-project", "--profile", "both", "--dest-uri", "bigquery://learnsync-ci?location=EU",
                     "--output", str(project), "--no-check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    assert profiles["learnsync"]["outputs"]["default"]["method"] == "oauth"
    closed = _closed_port()
    profiles["learnsync"]["outputs"]["default"].update(
        method="oauth-secrets", token="offline", api_endpoint=f"http://127.0.0.1:{closed}")
    (project / "profiles.yml").write_text(yaml.safe_dump(profiles))
    assert run_dbt(project, "deps").returncode == 0
    proxy = f"http://127.0.0.1:{closed}"
    env = {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "", "GCE_METADATA_HOST": "127.0.0.1:9"}
    compiled = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "compile", "--no-populate-cache", "--vars",
         # history mode's branches too (the DuckDB and Postgres builds run the plain ones)
         "{learnsync_introspect: false, learnsync_history_tables: [courses_trackings]}",
         "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"},
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    compiled_dir = project / "target" / "compiled" / "learnsync"
    files = sorted(compiled_dir.glob("models/*/*/*.sql"))  # the models; their tests sit in folders named after the yml
    assert len(files) == 56
    tests = sorted(set(compiled_dir.glob("**/*.sql")) - set(files))
    assert len(tests) > 250
    for path in tests:
        sqlglot.parse_one(path.read_text(), read="bigquery")
    for path in files:
        sql = path.read_text()
        assert "`learnsync-ci`." in sql, path.name  # BigQuery quoting of the project
        sqlglot.parse_one(sql, read="bigquery")
    by_name = {p.stem: p.read_text() for p in files}
    assert "where valid_to is null" in by_name["stg_360learning__courses_trackings"]
    assert "_learnsync_parent_hash in" in by_name["stg_360learning__course_tracking_access_dates"]
    assert "valid_from" in by_name["learning360__completion_trend"]
    # weeks start on Monday there too (BigQuery's WEEK starts on Sunday)
    weekly = [p for p in files if "week_start(" in (PACKAGE_DIR / p.relative_to(compiled_dir)).read_text()]
    assert len(weekly) == 2 and all("isoweek" in p.read_text() for p in weekly)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_package_data_in_the_wheel(wheel: Path) -> None:
    """`pip install` carries the package: the wheel holds every file of learnsync/dbt (the session's wheel)."""
    import zipfile

    root = Path(__file__).resolve().parents[1]
    held = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("learnsync/dbt/")}
    source = root / "app" / "dbt"  # the checkout's files (PACKAGE_DIR is site-packages' copy in a plain install)
    files = {f"learnsync/dbt/{p.relative_to(source)}" for p in source.rglob("*")
             if p.is_file() and not re.search(r"/(target|dbt_packages|logs)/", str(p))}
    assert held == files


def test_optional_columns(server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns learnsync adds only once it meets them. A tracking the share deleted, kept by reconcile with
    `_learnsync_deleted_at` (soft_delete), stays in staging flagged is_deleted and leaves the funnel, which then
    equals the share's; an object key no object has had yet is a NULL column of its bridge, not an error."""
    conn = server.connect(arrow_number_to_decimal=True)
    share = Share(server, f"SD_{uuid.uuid4().hex[:8].upper()}", "CORE", conn)
    emulator.create_360learning(conn, database=share.database, schema="CORE")
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__COURSES_TRACKINGS__SOFT_DELETE", "true")
    path = tmp_path / "w.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "l360", path)
    tables = ["USERS", "COURSES", "COURSES_TRACKINGS"]  # what the funnel reads
    run_sync(share, dest, tables=tables)
    gone = [r[0] for r in share.sql(f'SELECT "ID" FROM "{share.database}"."CORE"."COURSES_TRACKINGS"'
                                    ' WHERE "COMPLETED_AT" IS NOT NULL ORDER BY "ID" LIMIT 7')]
    share.sql(f'DELETE FROM "{share.database}"."CORE"."COURSES_TRACKINGS" WHERE "ID" IN ({", ".join(map(repr, gone))})')
    run_reconcile(share, dest, tables=["COURSES_TRACKINGS"])
    project = tmp_path / "p"
    proc = learnsync("dbt-project", "--dataset", "l360", "--dest-uri", dest.uri, "--output", str(project), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert run_dbt(project, "deps").returncode == 0
    build = run_dbt(project, "build", "--select", "+learning360__course_completion_funnel", "--indirect-selection", "cautious")
    assert build.returncode == 0, build.stdout[-3000:]
    flagged = dest.query('SELECT course_tracking_id FROM "learnsync_dbt"."stg_360learning__courses_trackings"'
                         " WHERE is_deleted AND learnsync_deleted_at IS NOT NULL")
    assert sorted(r[0] for r in flagged) == sorted(gone)
    expected = share.sql(f"""
        SELECT t."COURSE", COUNT(*), COUNT_IF(t."COMPLETED_AT" IS NOT NULL)
        FROM "{share.database}"."CORE"."COURSES_TRACKINGS" t
        LEFT JOIN "{share.database}"."CORE"."USERS" u ON u."ID" = t."USER"
        WHERE {KEPT_USER} GROUP BY 1""")
    got = dest.query('SELECT course_id, attempts, completed_attempts FROM "learnsync_dbt".'
                     '"learning360__course_completion_funnel" WHERE attempts > 0')
    assert_rows_match(got, expected, "funnel after soft deletes")

    # custom fields that never had a `name` key (learnsync has not created its column)
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute('ALTER TABLE "l360"."users__customfields" DROP COLUMN "name"')
    build = run_dbt(project, "build", "--select", "stg_360learning__user_custom_fields")
    assert build.returncode == 0, build.stdout[-3000:]
    fields = dest.query('SELECT count(*), count(field_name), count(field_value)'
                        ' FROM "learnsync_dbt"."stg_360learning__user_custom_fields"')
    assert fields[0][0] > 0 and fields[0][1] == 0 and fields[0][2] == fields[0][0]
    conn.close()


def _demo_mart(built: Built, shares: Shares) -> None:
    """The demo's last step (`build_demo_mart`, which built the DuckDB side) returns the top of the funnel."""
    rows = built.demo_rows
    assert rows is not None and len(rows) == 5 and list(rows[0])[:3] == ["course_id", "course_name", "is_archived"]
    attempts = [r["attempts"] for r in rows]
    assert attempts == sorted(attempts, reverse=True) and attempts[0] > 0
    funnel = {r[0]: r for r in built.mart("learning360__course_completion_funnel")}
    assert all(tuple(r.values()) == funnel[r["course_id"]] for r in rows)
