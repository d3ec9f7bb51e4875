"""Source URI parsing into the one credentials configspec, the connector parameters it hands over, per-table
settings and dataset names: no Snowflake, no destination."""

from __future__ import annotations

import pytest

from learnsync.errors import LearnsyncError
from learnsync.settings import Authenticator, ShareCredentials, dataset_name, share_credentials, table_settings

SECRET = "p@ss-Word-1"


def test_a_uri_parses_into_every_field() -> None:
    creds = share_credentials("snowflake://reader:p%40ss-Word-1@acct-x/DB/CORE?warehouse=WH&role=R&login_timeout=5")
    assert isinstance(creds, ShareCredentials)
    assert (creds.username, creds.password, creds.host, creds.database, creds.schema) == (
        "reader", SECRET, "acct-x", "DB", "CORE")
    assert (creds.warehouse, creds.role, creds.login_timeout, creds.network_timeout) == ("WH", "R", 5, 120)
    assert creds.method is Authenticator.PASSWORD
    assert creds.missing() is None
    assert SECRET not in creds.redacted() and "acct-x/DB/CORE" in creds.redacted()


def test_connector_parameters_pin_the_session() -> None:
    params = share_credentials(f"snowflake://reader:{SECRET}@acct-x/DB/CORE?warehouse=WH").to_connector_params()
    assert params["account"] == "acct-x" and params["user"] == "reader" and params["password"] == SECRET
    assert params["authenticator"] == "SNOWFLAKE"
    # exact numbers (never float64) and UTC wall clock, whatever the account's defaults
    assert params["arrow_number_to_decimal"] is True
    assert params["session_parameters"]["TIMEZONE"] == "UTC"
    assert params["session_parameters"]["PYTHON_CONNECTOR_QUERY_RESULT_FORMAT"] == "ARROW"


@pytest.mark.parametrize("uri, needle", [
    ("mysql://u@h/db", "must start with snowflake://"),
    ("snowflake://u@acct/ONLYDB", "a database and a schema"),
    ("snowflake://u@acct/DB/S?colour=red", "Unknown source URI option(s) colour"),
    ("snowflake://u:p@acct/DB/S?login_timeout=abc", "malformed"),
    (None, "No source given"),
])
def test_a_bad_uri_is_one_line_without_the_password(uri: str, needle: str) -> None:
    with pytest.raises(LearnsyncError) as err:
        share_credentials(uri)
    message = str(err.value)
    assert needle in message and "\n" not in message and ":p@" not in message


def test_the_password_comes_from_the_uri_then_the_argument_then_dlt(monkeypatch: pytest.MonkeyPatch) -> None:
    assert share_credentials("snowflake://u:inline@acct/DB/S", password="given").password == "inline"
    assert share_credentials("snowflake://u@acct/DB/S", password="given").password == "given"
    monkeypatch.setenv("SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD", "from-env")
    assert share_credentials("snowflake://u@acct/DB/S").password == "from-env"


def test_no_secret_at_all_says_where_to_put_one() -> None:
    missing = share_credentials("snowflake://u@acct/DB/S").missing()
    assert missing is not None and "[sources.learnsync.credentials]" in missing


def test_table_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert table_settings("SKILLS").cursor is None
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__SKILLS__CURSOR", "CREATED_AT")
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__SKILLS__LOOKBACK_HOURS", "2.5")
    settings = table_settings("SKILLS")
    assert (settings.cursor, settings.lookback_hours) == ("CREATED_AT", 2.5)


@pytest.mark.parametrize("name, ok", [("learning", True), ("_x9", True), ("a" * 63, True), ("a" * 64, False),
                                      ("9lives", False), ("bad;name", False), ("x-y", False), ("", False)])
def test_dataset_names(name: str, ok: bool) -> None:
    if ok:
        assert dataset_name(name) == name
    else:
        with pytest.raises(LearnsyncError, match="Invalid dataset name"):
            dataset_name(name)


def test_secrets_are_masked_without_mangling_the_words_around_them() -> None:
    from learnsync.settings import mask_secrets

    # a short secret: masked where it stands alone, never inside a word ("attempt(s)" keeps its p)
    assert mask_secrets("after 2 attempt(s) as u:p@acct, password p.", ["p"]) == "after 2 attempt(s) as u:***@acct, password ***."
    # a long one anywhere, URL-encoded too, and the longest first so no part of it stays
    secret = "Sekret-9x@y"
    text = f"dsn=u:{secret}@h uri=u:Sekret-9x%40y@h word{secret}word"
    assert mask_secrets(text, [secret, "9x"]) == "dsn=u:***@h uri=u:***@h word***word"
    assert mask_secrets("nothing to hide", []) == "nothing to hide"
