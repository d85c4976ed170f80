"""The error catalog and parser against the providers' real wire forms (accounting-apis.md §0-§4)."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arsync.connectors.errors import (
    CATALOG,
    MAX_MESSAGE_CHARS,
    AccountingError,
    ErrorCategory,
    find_embedded_fault,
    map_field,
    parse_accounting_error,
    system_label,
)
from arsync.models.common import AccountingSystem
from arsync.models.customer import AccountingErrorInfo, Address, CustomerContact

QBO = AccountingSystem.QUICKBOOKS_ONLINE
XERO = AccountingSystem.XERO
INTACCT = AccountingSystem.SAGE_INTACCT
QBD = AccountingSystem.QUICKBOOKS_DESKTOP
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def qbo_fault(message: str, detail: str | None, code: str, element: str | None = "", kind="ValidationFault") -> str:
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    return json.dumps({"Fault": {"Error": [error], "type": kind}, "time": "2017-09-29T09:17:31.892-07:00"})


def xero_validation(*messages: str) -> bytes:
    """The official `PUT /Contacts` 400 example (xero_accounting.yaml L3915-3963) with our messages."""
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "ContactID": "00000000-0000-0000-0000-000000000000",
                "AccountNumber": "12345-ABCD",
                "Name": "Buzz Lightyear",
                "EmailAddress": "buzzlightyear@email.com",
                "Addresses": [
                    {
                        "AddressType": "STREET",
                        "AddressLine1": "101 Green St",
                        "City": "San Francisco",
                        "ValidationErrors": [],
                    }
                ],
                "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "555-1212", "ValidationErrors": []}],
                "ContactGroups": [],
                "ContactPersons": [],
                "HasValidationErrors": True,
                "ValidationErrors": [{"Message": m} for m in messages],
            }
        ],
    }
    return json.dumps(body).encode()


def intacct_failure(errorno: str, description2: str, *, where: str = "result") -> str:
    error = (
        f"<errormessage><error><errorno>{errorno}</errorno><description></description>"
        f"<description2>{description2}</description2><correction></correction></error></errormessage>"
    )
    if where == "authentication":
        operation = f"<authentication><status>failure</status><userid>u</userid></authentication>{error}"
    else:
        operation = (
            "<authentication><status>success</status><userid>u</userid></authentication>"
            f"<result><status>failure</status><function>create</function><controlid>c1</controlid>{error}</result>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status><senderid>s</senderid>'
        f"</control><operation>{operation}</operation></response>"
    )


def qbxml(rs: str, code: str, message: str) -> str:
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        f'<{rs} requestID="1" statusCode="{code}" statusSeverity="Error" statusMessage="{message}" />'
        "</QBXMLMsgsRs></QBXML>"
    )


def says_reconnect(error: AccountingError) -> bool:
    text = error.resolution.lower()
    return "disconnect" in text and "connect it again" in text


# --- the seven FAQ strings, in their wire forms ----------------------------------------------------------

QBO_401_BODY = (
    '{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthenticationFailed; '
    'errorCode=003200; statusCode=401","detail":"Token expired: AB01730024136mqEofYN9fldzIcxH6lsAcqOYIbafE5z6ZdjPc",'
    '"code":"3200","element":null}],"type":"AUTHENTICATION"},"report":null,"queryResponse":null,'
    '"batchItemResponse":[],"attachableResponse":[],"syncErrorResponse":null,"requestId":null,"time":1730024394085,'
    '"status":null,"cdcresponse":[]}'
)


def test_faq_authentication_failed_as_plain_text() -> None:
    text = "Unable to create Customer, message=Authentication Failed, status code 401"
    error = parse_accounting_error(QBO, 401, {}, text)
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.message == text
    assert error.http_status == 401
    assert error.retryable is False
    assert error.needs_reauth
    assert "QuickBooks Online" in error.explanation
    assert "Authentication failure" in error.explanation
    assert "password or permission change" in error.explanation
    assert says_reconnect(error)


def test_faq_authentication_failed_is_recognised_without_a_status() -> None:
    text = "Unable to create Customer, message=Authentication Failed, status code 401"
    assert parse_accounting_error(QBO, None, {}, text).category is ErrorCategory.AUTHENTICATION_FAILED


def test_faq_authentication_failed_wire_form_qbo_lower_case_fault() -> None:
    error = parse_accounting_error(QBO, 401, {"intuit_tid": "1-abc"}, QBO_401_BODY.encode())
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.code == "3200"
    assert error.fault_type == "AUTHENTICATION"
    assert error.request_id == "1-abc"
    assert error.message.startswith("message=AuthenticationFailed; errorCode=003200; statusCode=401: Token expired: ")
    assert "mqEofYN9fldzIcxH6lsAcqOYIbafE5z6ZdjPc" not in error.message  # the echoed token is not stored
    assert error.detail == "Token expired: [redacted]"
    assert error.retryable is False
    assert says_reconnect(error)


def test_faq_duplicate_record_exists_qbo_fault() -> None:
    # UNCONFIRMED as a distinct QBO message (§0): treated as a 6240 variant.
    body = qbo_fault("Duplicate Record Exists Error", "The name supplied already exists. : null", "6240")
    error = parse_accounting_error(QBO, 400, {}, body)
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.message == "Duplicate Record Exists Error: The name supplied already exists. : null"
    assert error.field == "display_name"
    assert error.provider_field == "DisplayName"
    assert error.retryable is False
    assert "already exists in QuickBooks Online" in error.explanation
    assert "marked as inactive and therefore excluded from search results" in error.explanation


def test_faq_duplicate_record_exists_as_plain_text() -> None:
    text = "Duplicate Record Exists Error: The name supplied already exists. : null"
    error = parse_accounting_error(QBO, 400, {}, text)
    assert (error.category, error.message, error.field) == (ErrorCategory.DUPLICATE_NAME, text, "display_name")


def test_faq_duplicate_name_exists_qbo_6240() -> None:
    body = qbo_fault("Duplicate Name Exists Error", "The name supplied already exists. : null", "6240")
    error = parse_accounting_error(QBO, 400, {}, body)
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.code == "6240"
    assert error.message == "Duplicate Name Exists Error: The name supplied already exists. : null"
    assert error.detail == "The name supplied already exists. : null"
    assert error.field == "display_name"
    assert error.retryable is False


def test_faq_duplicate_name_exists_spacing_variant_kept_verbatim() -> None:
    # The FAQ's own text drops the space before the colon; either spelling is kept as it arrived.
    faq = "Duplicate Name Exists Error: The name supplied already exists.: null"
    body = qbo_fault("Duplicate Name Exists Error", "The name supplied already exists.: null", "6240")
    assert parse_accounting_error(QBO, 400, {}, body).message == faq
    plain = parse_accounting_error(QBO, 400, {}, faq)
    assert (plain.category, plain.message) == (ErrorCategory.DUPLICATE_NAME, faq)


def test_faq_duplicate_contact_name_xero() -> None:
    faq = (
        "The contact name Buzz Lightyear is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    error = parse_accounting_error(XERO, 400, {"Content-Type": "application/json"}, xero_validation(faq))
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.message == faq
    assert error.code == "ValidationException"
    assert error.detail == "A validation exception occurred"
    assert error.field == "display_name"
    assert error.provider_field == "Name"
    assert error.retryable is False
    assert "already exists in Xero" in error.explanation
    assert "archived" in error.explanation


@pytest.mark.parametrize("quote", [("“", "”"), ('"', '"')], ids=["curly", "straight"])
def test_faq_required_field_missing_intacct(quote: tuple[str, str]) -> None:
    faq = f"Required field {quote[0]}XXX{quote[1]} is missing. [Support ID: ODz%40FEB034%7EYL1kVP0s2fT-xMoWmfHB-AAAAAg]"
    body = intacct_failure("BL01001973", faq.replace('"', "&quot;"))
    error = parse_accounting_error(INTACCT, 200, {}, body)
    assert error.category is ErrorCategory.REQUIRED_FIELD_MISSING
    assert error.message == faq
    assert error.field == "XXX"
    assert error.provider_field == "XXX"
    assert error.support_id == "ODz%40FEB034%7EYL1kVP0s2fT-xMoWmfHB-AAAAAg"
    assert error.code == "BL01001973"
    assert error.retryable is False
    assert "Sage Intacct requires" in error.explanation
    assert '"XXX"' in error.resolution


def test_faq_required_field_missing_is_found_in_a_200_response() -> None:
    faq = 'Required field "Customer Name" is missing. [Support ID: abc]'
    error = find_embedded_fault(INTACCT, intacct_failure("BL01001973", faq.replace('"', "&quot;")))
    assert error is not None
    assert (error.category, error.field, error.message) == (
        ErrorCategory.REQUIRED_FIELD_MISSING,
        "display_name",
        faq,
    )


def test_faq_invalid_characters_xero() -> None:
    faq = "The contact name is not valid. < > are not permitted characters."
    error = parse_accounting_error(XERO, 400, {}, xero_validation(faq))
    assert error.category is ErrorCategory.INVALID_CHARACTERS
    assert error.message == faq
    assert error.field == "display_name"
    assert error.retryable is False
    assert "Xero does not permit" in error.explanation
    assert "edit the customer name" in error.resolution.lower()


def test_faq_string_too_long_qbd_3070() -> None:
    body = qbxml(
        "CustomerAddRs",
        "3070",
        "The string &quot;&lt;XXXX,&gt;&quot; in the field &quot;Addr2&quot; is too long.",
    )
    error = parse_accounting_error(QBD, None, {}, body)
    assert error.category is ErrorCategory.FIELD_TOO_LONG
    assert error.message == 'The string "<XXXX,>" in the field "Addr2" is too long.'
    assert error.code == "3070"
    assert error.provider_field == "Addr2"
    assert error.field == "billing_address.line2"
    assert error.value == "<XXXX,>"
    assert error.fault_type == "CustomerAddRs"
    assert error.retryable is False
    assert "longer than QuickBooks Desktop allows" in error.explanation
    assert "Shorten" in error.resolution


def test_faq_string_too_long_as_plain_text() -> None:
    faq = 'The string "<XXXX,>" in the field "Addr2" is too long.'
    error = parse_accounting_error(QBD, None, {}, faq)
    assert (error.category, error.message, error.provider_field) == (ErrorCategory.FIELD_TOO_LONG, faq, "Addr2")


def test_string_too_long_resolves_to_the_address_holding_the_value() -> None:
    body = qbxml(
        "CustomerAddRs", "3070", "The string &quot;Suite 4000&quot; in the field &quot;Addr2&quot; is too long."
    )
    error = parse_accounting_error(QBD, None, {}, body)
    contact = CustomerContact(display_name="Acme", shipping_address=Address(line2="Suite 4000"))
    resolved = error.resolve_field(contact)
    assert resolved.field == "shipping_address.line2"
    assert "shipping address line 2" in resolved.explanation
    assert error.resolve_field(CustomerContact(display_name="Acme")) is error


# --- QuickBooks Online: other faults -----------------------------------------------------------------------


def test_qbo_fault_in_a_200_is_found() -> None:
    detail = (
        "Stale Object Error : You and API API were working on this at the same time. API API finished before you "
        "did, so your work was not saved."
    )
    error_item = {"Message": "Stale Object Error", "Detail": detail, "code": "5010", "element": ""}
    body = {"Fault": {"Error": [error_item], "type": "ValidationFault"}, "time": "2017-09-29T09:17:31.892-07:00"}
    error = find_embedded_fault(QBO, body)
    assert error is not None
    assert error.category is ErrorCategory.STALE_OBJECT
    assert error.http_status == 200
    assert error.message.startswith("Stale Object Error: Stale Object Error : You and API API were working")
    assert "Re-Sync" in error.resolution
    assert find_embedded_fault(QBO, {"Customer": {"Id": "1", "SyncToken": "0"}, "time": "x"}) is None
    assert find_embedded_fault(QBO, {}) is None
    assert find_embedded_fault(QBO, None) is None


def test_qbo_batch_item_fault_is_found() -> None:
    body = {
        "BatchItemResponse": [
            {"Customer": {"Id": 164}, "bId": "2"},
            {
                "Fault": {
                    "type": "ValidationFault",
                    "Error": [
                        {
                            "Message": "Duplicate Name Exists Error",
                            "code": "6240",
                            "Detail": "detail message",
                            "element": "",
                        }
                    ],
                },
                "bId": "1",
            },
        ],
        "time": "2015-08-10T11:44:02.957-07:00",
    }
    error = find_embedded_fault(QBO, body)
    assert error is not None and error.category is ErrorCategory.DUPLICATE_NAME


def test_qbo_lower_case_validation_fault() -> None:
    body = (
        '{"fault":{"error":[{"message":"Duplicate Name Exists Error","detail":"The name supplied already exists. : '
        'null","code":"6240"}],"type":"ValidationFault"},"batchItemResponse":[],"attachableResponse":[],'
        '"time":1719142418269,"cdcresponse":[]}'
    )
    error = parse_accounting_error(QBO, 400, {}, body)
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.message == "Duplicate Name Exists Error: The name supplied already exists. : null"


def test_qbo_xml_fault() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/'
        'finance/v3" time="2019-03-01T10:00:00.000-08:00"><Fault type="ValidationFault"><Error code="6240" '
        'element=""><Message>Duplicate Name Exists Error</Message><Detail>The name supplied already exists. : '
        "null</Detail></Error></Fault></IntuitResponse>"
    )
    error = parse_accounting_error(QBO, 400, {}, body.encode())
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.message == "Duplicate Name Exists Error: The name supplied already exists. : null"
    assert error.fault_type == "ValidationFault"
    assert find_embedded_fault(QBO, body) is not None


def test_qbo_xml_authentication_fault() -> None:
    body = (
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2018-01-01T00:00:00.000-08:00">'
        '<Fault type="AuthenticationFault"><Error code="100"><Message>General Authentication Error</Message>'
        "<Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401</Detail></Error>"
        "</Fault></IntuitResponse>"
    )
    error = parse_accounting_error(QBO, 401, {}, body)
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.message == (
        "General Authentication Error: AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401"
    )


def test_qbo_403_authorization_failed() -> None:
    body = (
        '{"fault":{"error":[{"message":"message=AuthorizationFailed; errorCode=003100; statusCode=403",'
        '"detail":null,"code":"3100","element":null}],"type":"SERVICE"}}'
    )
    error = parse_accounting_error(QBO, 403, {}, body)
    assert error.category is ErrorCategory.AUTHORIZATION_FAILED
    assert error.message == "message=AuthorizationFailed; errorCode=003100; statusCode=403"
    assert error.detail is None
    assert error.needs_reauth and not error.retryable
    assert says_reconnect(error)
    assert "administrator" in error.resolution


@pytest.mark.parametrize("status", [429, 403])
def test_qbo_throttle_exceeded(status: int) -> None:
    body = (
        '{"fault":{"error":[{"message":"message=ThrottleExceeded; errorCode=003001; statusCode=429",'
        '"detail":"Too many requests","code":"003001"}],"type":"SERVICE"}}'
    )
    error = parse_accounting_error(QBO, status, {}, body)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retryable
    assert error.retry_after == 60.0  # QBO's documented advice when no Retry-After is sent
    assert "retry automatically" in error.resolution


def test_qbo_2050_takes_the_field_from_element() -> None:
    body = qbo_fault(
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. Min:0 Max:50 supported. Supplied length:51",
        "2050",
        "CompanyName",
    )
    error = parse_accounting_error(QBO, 400, {}, body)
    assert error.category is ErrorCategory.FIELD_TOO_LONG
    assert (error.field, error.provider_field) == ("company_name", "CompanyName")
    assert "the company name" in error.explanation


def test_qbo_5010_stale_object() -> None:
    body = qbo_fault(
        "Stale Object Error",
        "Stale Object Error : You and Craig Carlson were working on this at the same time. Craig Carlson finished "
        "before you did, so your work was not saved.",
        "5010",
    )
    error = parse_accounting_error(QBO, 400, {}, body)
    assert error.category is ErrorCategory.STALE_OBJECT
    assert not error.retryable
    assert "changed in QuickBooks Online after we last read it" in error.explanation


@pytest.mark.parametrize(
    ("message", "detail", "code", "category", "field"),
    [
        (
            "Object Not Found",
            "Object Not Found : Something you're trying to use has been made inactive. Check the fields with "
            "accounts, customers, items, vendors or employees.",
            "610",
            ErrorCategory.NOT_FOUND,
            None,
        ),
        (
            "Required param missing, need to supply the required value for the API",
            "Required parameter Line is missing in the request",
            "2020",
            ErrorCategory.REQUIRED_FIELD_MISSING,
            "Line",
        ),
        (
            "A business validation error has occurred while processing your request",
            "Business Validation Error: Unexpected Internal Error. (-30000)",
            "6000",
            ErrorCategory.VALIDATION_FAILED,
            None,
        ),
        (
            "Unsupported Operation",
            "Operation Could not find resource for relative : /v3/company/1/customer of full path",
            "500",
            ErrorCategory.VALIDATION_FAILED,
            None,
        ),
    ],
)
def test_qbo_other_codes(message: str, detail: str, code: str, category: ErrorCategory, field: str | None) -> None:
    error = parse_accounting_error(QBO, 400, {}, qbo_fault(message, detail, code))
    assert error.category is category
    assert error.message == f"{message}: {detail}"
    assert error.provider_field == field
    assert not error.retryable


def test_qbo_500_with_system_fault_is_unavailable() -> None:
    body = qbo_fault("An application error has occurred while processing your request", "System Failure Error", "10000")
    error = parse_accounting_error(QBO, 500, {}, body, now=NOW)
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.retryable


def test_invalid_grant_is_authentication_failure() -> None:
    body = b'{"error":"invalid_grant","error_description":"Incorrect or invalid refresh token"}'
    error = parse_accounting_error(QBO, 400, {"intuit_tid": "x"}, body)
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.code == "invalid_grant"
    assert error.message == "invalid_grant: Incorrect or invalid refresh token"
    assert not error.retryable
    assert says_reconnect(error)
    bare = parse_accounting_error(XERO, 400, {}, {"error": "invalid_grant"})
    assert (bare.category, bare.message) == (ErrorCategory.AUTHENTICATION_FAILED, "invalid_grant")


# --- Xero: other responses -----------------------------------------------------------------------------------


def test_xero_401_token_expired() -> None:
    body = (
        '{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: token expired at 04/09/2023 '
        '05:16:59","Instance":"6489df60-1111-2222-3333-444455556666","Extensions":{}}'
    )
    error = parse_accounting_error(XERO, 401, {"Xero-Correlation-Id": "corr-1"}, body)
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.message == "TokenExpired: token expired at 04/09/2023 05:16:59"
    assert error.code == "TokenExpired"
    assert error.detail == "Unauthorized"
    assert error.request_id == "corr-1"
    assert "Xero" in error.explanation and says_reconnect(error)


def test_xero_403_authentication_unsuccessful() -> None:
    body = {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}
    error = parse_accounting_error(XERO, 403, {}, body)
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.code == "AuthenticationUnsuccessful"
    assert says_reconnect(error)


def test_xero_403_empty_body_is_authorization() -> None:
    error = parse_accounting_error(XERO, 403, {}, b"")
    assert error.category is ErrorCategory.AUTHORIZATION_FAILED
    assert error.message == "HTTP 403 Forbidden"
    assert error.needs_reauth


def test_xero_404_without_json() -> None:
    error = parse_accounting_error(XERO, 404, {"Content-Type": "text/html"}, b"")
    assert error.category is ErrorCategory.NOT_FOUND
    assert error.message == "HTTP 404 Not Found"
    assert not error.retryable
    text = parse_accounting_error(XERO, 404, {}, "The resource you're looking for cannot be found")
    assert text.category is ErrorCategory.NOT_FOUND
    assert text.message == "The resource you're looking for cannot be found"


def test_xero_429_minute_with_seconds() -> None:
    error = parse_accounting_error(XERO, 429, {"Retry-After": "37", "X-Rate-Limit-Problem": "minute"}, b"", now=NOW)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retryable
    assert error.retry_after == 37.0
    assert error.reset_at is None
    assert "in about 37 seconds" in error.resolution


def test_xero_429_minute_with_http_date() -> None:
    headers = {"retry-after": "Mon, 02 Mar 2026 12:00:45 GMT", "x-rate-limit-problem": "Minute"}
    error = parse_accounting_error(XERO, 429, headers, None, now=NOW)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retry_after == 45.0


def test_xero_429_concurrent_is_rate_limited() -> None:
    error = parse_accounting_error(XERO, 429, {"X-Rate-Limit-Problem": "concurrent"}, None, now=NOW)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retry_after == 60.0


def test_xero_429_day_limit() -> None:
    error = parse_accounting_error(XERO, 429, {"Retry-After": "5400", "X-Rate-Limit-Problem": "day"}, b"", now=NOW)
    assert error.category is ErrorCategory.DAILY_LIMIT_REACHED
    assert error.retryable is False
    assert error.retry_after == 5400.0
    assert error.reset_at == NOW + timedelta(seconds=5400)
    assert error.message == "HTTP 429 Too Many Requests (X-Rate-Limit-Problem: day)"
    assert "2026-03-02 13:30 UTC" in error.resolution


def test_xero_429_day_limit_with_http_date() -> None:
    headers = {"Retry-After": "Tue, 03 Mar 2026 00:00:00 GMT", "X-Rate-Limit-Problem": "day"}
    error = parse_accounting_error(XERO, 429, headers, b"", now=NOW)
    assert error.reset_at == datetime(2026, 3, 3, tzinfo=UTC)


def test_xero_summarize_errors_false_200() -> None:
    body = {
        "Id": "x",
        "Status": "OK",
        "Contacts": [
            {"Name": "Fine", "HasValidationErrors": False},
            {
                "Name": "Bad <name>",
                "HasValidationErrors": True,
                "ValidationErrors": [{"Message": "The contact name is not valid. < > are not permitted characters."}],
            },
        ],
    }
    error = find_embedded_fault(XERO, body)
    assert error is not None and error.category is ErrorCategory.INVALID_CHARACTERS
    assert find_embedded_fault(XERO, {"Status": "OK", "Contacts": [{"Name": "Fine"}]}) is None


def test_xero_several_validation_errors_are_all_kept() -> None:
    error = parse_accounting_error(
        XERO,
        400,
        {},
        xero_validation(
            "Email address must be valid.", "The contact name is not valid. < > are not permitted characters."
        ),
    )
    assert error.category is ErrorCategory.INVALID_CHARACTERS  # the specific one leads
    assert error.message.splitlines() == [
        "Email address must be valid.",
        "The contact name is not valid. < > are not permitted characters.",
    ]


# --- unavailable, HTML, empty ------------------------------------------------------------------------------


def test_503_html_is_unavailable_and_retryable() -> None:
    body = b"<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body>x</body></html>"
    error = parse_accounting_error(QBO, 503, {"Retry-After": "120"}, body)
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.retryable
    assert error.retry_after == 120.0
    assert error.message == "503 Service Temporarily Unavailable"
    assert "retry automatically" in error.resolution


@pytest.mark.parametrize("status", [500, 502, 504, 408])
def test_server_errors_without_body_are_unavailable(status: int) -> None:
    error = parse_accounting_error(XERO, status, {}, None)
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE and error.retryable


@pytest.mark.parametrize("status", [400, 409, 422])
def test_unknown_client_errors_are_validation_and_never_retried(status: int) -> None:
    error = parse_accounting_error(XERO, status, {}, b"nope")
    assert error.category is ErrorCategory.VALIDATION_FAILED
    assert not error.retryable
    assert error.message == "nope"


# --- Sage Intacct and QuickBooks Desktop -----------------------------------------------------------------------


def test_intacct_authentication_failure() -> None:
    error = parse_accounting_error(
        INTACCT, 200, {}, intacct_failure("XL03000006", "Sign-in information is incorrect", where="authentication")
    )
    assert error.category is ErrorCategory.AUTHENTICATION_FAILED
    assert error.message == "Sign-in information is incorrect"
    assert error.code == "XL03000006"
    assert says_reconnect(error) and "Sage Intacct" in error.resolution


def test_intacct_success_is_not_a_fault() -> None:
    body = (
        "<response><control><status>success</status></control><operation><authentication><status>success</status>"
        "</authentication><result><status>success</status><function>create</function><data><customer>"
        "<RECORDNO>7</RECORDNO></customer></data></result></operation></response>"
    )
    assert find_embedded_fault(INTACCT, body) is None


def test_intacct_rate_limit_text() -> None:
    error = parse_accounting_error(INTACCT, 200, {}, intacct_failure("XL03000009", "API rate limit exceeded"))
    assert error.category is ErrorCategory.RATE_LIMITED and error.retryable


def test_qbd_3100_name_in_use() -> None:
    body = qbxml("CustomerAddRs", "3100", "The name &quot;Mike Smith&quot; of the list element is already in use.")
    error = parse_accounting_error(QBD, None, {}, body)
    assert error.category is ErrorCategory.DUPLICATE_NAME
    assert error.message == 'The name "Mike Smith" of the list element is already in use.'
    assert error.field == "display_name"
    assert "QuickBooks Desktop" in error.explanation


def test_qbd_3200_stale_edit_sequence() -> None:
    body = qbxml("CustomerModRs", "3200", "The provided edit sequence &quot;1071506523&quot; is out-of-date.")
    error = parse_accounting_error(QBD, None, {}, body)
    assert error.category is ErrorCategory.STALE_OBJECT
    assert error.code == "3200"


def test_qbd_info_status_is_not_a_fault() -> None:
    body = (
        '<QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"></CustomerQueryRs></QBXMLMsgsRs></QBXML>'
    )
    assert find_embedded_fault(QBD, body) is None


# --- the error object ---------------------------------------------------------------------------------------


def test_reclassified_as_inactive_duplicate_offers_link_reactivate_rename() -> None:
    body = qbo_fault("Duplicate Name Exists Error", "The name supplied already exists. : null", "6240")
    error = parse_accounting_error(QBO, 400, {}, body)
    inactive = error.reclassified(
        ErrorCategory.DUPLICATE_NAME_INACTIVE, existing_name="Acme (deleted)", existing_id="58"
    )
    assert inactive.category is ErrorCategory.DUPLICATE_NAME_INACTIVE
    assert inactive.message == error.message and inactive.code == "6240" and inactive.field == "display_name"
    assert (inactive.existing_name, inactive.existing_id) == ("Acme (deleted)", "58")
    assert '"Acme (deleted)"' in inactive.explanation
    assert "inactive" in inactive.explanation
    assert "excluded from search results" in inactive.explanation
    for option in ("link", "reactivate", "rename"):
        assert option in inactive.resolution.lower()
    xero = parse_accounting_error(
        XERO,
        400,
        {},
        xero_validation(
            "The contact name X is already assigned to another "
            "contact. The contact name must be unique across all active contacts."
        ),
    )
    assert "archived" in xero.reclassified(ErrorCategory.DUPLICATE_NAME_INACTIVE).resolution


def test_to_info_keeps_the_provider_words_and_ours() -> None:
    error = parse_accounting_error(QBO, 401, {}, QBO_401_BODY)
    info = error.to_info(NOW)
    assert isinstance(info, AccountingErrorInfo)
    assert info.system is QBO
    assert info.category == "authentication_failed"
    assert info.http_status == 401 and info.code == "3200"
    assert info.message == error.message
    assert info.explanation == error.explanation and info.resolution == error.resolution
    assert info.occurred_at == NOW and info.retryable is False


def test_error_pickles_and_prints() -> None:
    error = parse_accounting_error(XERO, 429, {"Retry-After": "9"}, None, now=NOW)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.category, copy.retry_after, copy.message) == (error.category, error.retry_after, error.message)
    assert str(error) == "Xero: HTTP 429 Too Many Requests"
    assert isinstance(error, Exception)


def test_keyword_construction_used_by_the_adapters() -> None:
    error = AccountingError(
        system=QBO,
        category=ErrorCategory.PROVIDER_UNAVAILABLE,
        message="Timed out after 30 s",
        http_status=None,
        code="timeout",
        field=None,
        retryable=False,
        retry_after=None,
        reset_at=None,
    )
    assert error.retryable is False  # an explicit verdict wins over the category default
    assert AccountingError.unavailable(XERO, "connection reset").retryable


def test_resolution_reflects_a_reset_set_later() -> None:
    error = parse_accounting_error(XERO, 429, {"X-Rate-Limit-Problem": "day"}, None, now=NOW)
    assert error.reset_at is None
    error.reset_at = NOW + timedelta(hours=3)
    assert "2026-03-02 15:00 UTC" in error.resolution


def test_every_category_has_catalog_text_naming_the_system() -> None:
    for system in AccountingSystem:
        for category in ErrorCategory:
            error = AccountingError(system, category, "m", field="billing_address.city")
            assert system_label(system) in error.explanation + error.resolution, (system, category)
            assert error.title == CATALOG[category].title
    assert [system_label(s) for s in AccountingSystem] == [
        "QuickBooks Online",
        "Xero",
        "Sage Intacct",
        "QuickBooks Desktop",
    ]


@pytest.mark.parametrize(
    ("provider", "ours"),
    [
        ("DisplayName", "display_name"),
        ("BillAddr.Line1", "billing_address.line1"),
        ("ShipAddr.PostalCode", "shipping_address.postal_code"),
        ("PrimaryEmailAddr.Address", "email"),
        ("PrimaryPhone.FreeFormNumber", "phone"),
        ("ShipAddress/Addr3", "shipping_address.line3"),
        ("State", "billing_address.region"),
        ("MAILADDRESS.ADDRESS2", "billing_address.line2"),
        ("Addr5", "Addr5"),
        ("CUSTOMERID", "CUSTOMERID"),
        (None, None),
    ],
)
def test_map_field(provider: str | None, ours: str | None) -> None:
    assert map_field(provider) == ours


# --- robustness -------------------------------------------------------------------------------------------


def test_entity_declaring_xml_is_not_expanded() -> None:
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><QBXML><QBXMLMsgsRs><CustomerAddRs statusCode="3070" '
        'statusSeverity="Error" statusMessage="The string &quot;&lol3;&quot; in the field &quot;Addr1&quot; is '
        'too long." /></QBXMLMsgsRs></QBXML>'
    )
    error = parse_accounting_error(QBD, None, {}, lol)
    assert error.category is ErrorCategory.FIELD_TOO_LONG
    assert "lollol" not in error.message


def test_huge_body_is_capped() -> None:
    error = parse_accounting_error(XERO, 400, {}, b"x" * 5_000_000)
    assert error.category is ErrorCategory.VALIDATION_FAILED
    assert len(error.message) == MAX_MESSAGE_CHARS


def test_truncated_json_and_odd_inputs_do_not_raise() -> None:
    assert parse_accounting_error(QBO, 400, {}, '{"Fault": {"Error": [').category is ErrorCategory.VALIDATION_FAILED
    assert parse_accounting_error(QBO, None, None, None).message == "No error details were returned"
    assert parse_accounting_error(QBO, 400, {}, {"Fault": "weird"}).category is ErrorCategory.VALIDATION_FAILED
    odd: Any = [1, 2, 3]
    assert parse_accounting_error(QBO, 400, {}, odd).category is ErrorCategory.VALIDATION_FAILED
    assert parse_accounting_error(XERO, 429, {"Retry-After": "soon"}, None).retry_after == 60.0
    assert parse_accounting_error(XERO, 429, {"Retry-After": "1e999"}, None).retry_after == 60.0


@settings(max_examples=300, deadline=None)
@given(
    system=st.sampled_from(list(AccountingSystem)),
    status=st.one_of(st.none(), st.integers(min_value=-5, max_value=1200)),
    headers=st.dictionaries(
        st.sampled_from(["Retry-After", "X-Rate-Limit-Problem", "intuit_tid", "x"]), st.text(max_size=40), max_size=3
    ),
    body=st.one_of(
        st.none(),
        st.binary(max_size=400),
        st.text(max_size=400),
        st.builds(lambda s: "<" + s, st.text(max_size=200)),
        st.builds(lambda s: '{"Fault":' + s, st.text(max_size=200)),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "Fault",
                            "fault",
                            "Error",
                            "error",
                            "Message",
                            "Detail",
                            "code",
                            "Elements",
                            "ValidationErrors",
                            "Title",
                            "Type",
                            "element",
                        ]
                    ),
                    children,
                    max_size=4,
                )
            ),
            max_leaves=20,
        ),
    ),
)
def test_parser_never_raises_and_always_classifies(system, status, headers, body) -> None:
    error = parse_accounting_error(system, status, headers, body, now=NOW)
    assert isinstance(error.category, ErrorCategory)
    assert isinstance(error.message, str) and error.message
    assert error.retryable == (error.category in (ErrorCategory.RATE_LIMITED, ErrorCategory.PROVIDER_UNAVAILABLE))
    assert error.explanation and error.resolution
    assert error.to_info().category == error.category.value
    embedded = find_embedded_fault(system, body)
    assert embedded is None or isinstance(embedded.category, ErrorCategory)
