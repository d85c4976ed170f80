"""Input rules: what is accepted, normalised and refused before anything is stored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arsync.models.api import CustomerCreateRequest, CustomerUpdateRequest


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a\u202eb", "tab\there", "line\nbreak", "nul\u0000", "x" * 501, "bom\ufeff"],
)
def test_bad_display_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        CustomerCreateRequest(display_name=name)
    assert error.value.errors()[0]["loc"] == ("display_name",)


@pytest.mark.parametrize("name", ["Zürich Trading AG", "株式会社サンプル", "شركة المثال", "Cafe \U0001f600", "x" * 500])
def test_unicode_names_are_accepted_unchanged(name: str) -> None:
    assert CustomerCreateRequest(display_name=name).display_name == name


def test_nfd_input_is_stored_as_nfc() -> None:
    assert CustomerCreateRequest(display_name="Cafe\u0301").display_name == "Caf\u00e9"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        CustomerCreateRequest.model_validate({"display_name": "A", "tenant_id": "other"})
    assert error.value.errors()[0]["type"] == "extra_forbidden"


def test_wrong_types_are_refused_not_coerced() -> None:
    with pytest.raises(ValidationError):
        CustomerCreateRequest.model_validate({"display_name": 12})


def test_update_reports_only_sent_fields() -> None:
    request = CustomerUpdateRequest.model_validate({"version": 3, "email": None, "phone": "555"})
    assert request.changes() == {"email": None, "phone": "555"}
