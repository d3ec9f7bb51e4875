"""Destination names: snake_case by dlt's convention, unique within a table, stable when columns are added."""

from __future__ import annotations

from learnsync.catalog.naming import EMPTY_KEY, extend_names, snake_case, unique_names


def test_snake_case() -> None:
    assert snake_case("COURSES_TRACKINGS") == "courses_trackings"
    assert snake_case("occurredAt") == "occurred_at"


def test_colliding_names_get_numbered_suffixes_in_order() -> None:
    names = unique_names(["User Id", "USER_ID", "user-id", "User Id"])
    assert names == {"User Id": "user_id", "USER_ID": "user_id_2", "user-id": "user_id_3"}


def test_new_names_are_handed_out_in_one_order_whatever_order_columns_arrive_in() -> None:
    """A name already in normal form keeps it (`user_id` beside `"User Id"`), then by text: every batch agrees."""
    a = extend_names({}, ["User Id", "user_id", "user-id"])
    assert a == extend_names({}, ["user-id", "User Id", "user_id"])
    assert a["user_id"] == "user_id"


def test_taken_names_are_avoided() -> None:
    assert unique_names(["_DLT_ID"], taken=["_dlt_id"])["_DLT_ID"] != "_dlt_id"


def test_known_names_never_move_when_columns_are_added() -> None:
    known = unique_names(["USER_ID"])
    grown = extend_names(known, ["USER_ID", "user id"])
    assert grown["USER_ID"] == known["USER_ID"] and grown["user id"] == "user_id_2"


def test_an_empty_key_has_a_name() -> None:
    assert unique_names([""])[""] == EMPTY_KEY
