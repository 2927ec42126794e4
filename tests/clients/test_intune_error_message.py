"""Intune error bodies carry a JSON document as a string in ``error.message``: cleanup shows its inner ``Message``,
not its first character."""

from __future__ import annotations

from cleanup.clients.graph import error_text
from tests.support.clienthelpers import fresh_serial

INTUNE_BODY = {
    "error": {
        "code": "BadRequest",
        "message": '{\r\n  "_version": 3,\r\n  "Message": "An error has occurred - Operation ID (for customer support): '
        "00000000-0000-0000-0000-000000000000 - Activity ID: 5b1f9f0e-1c63-4d0e-9a58-1e2d6c1e3f70 - Url: "
        "https://fef.msub03.manage.microsoft.com/DeviceFE/StatelessDeviceFEService/deviceManagement/managedDevices('x')"
        '?api-version=5025-01-01",\r\n  "CustomApiErrorPhrase": "",\r\n  "RetryAfter": null,\r\n  "ErrorSourceService": "",\r\n'
        '  "HttpHeaders": "{}"\r\n}',
        "innerError": {"date": "2026-12-01T10:00:00", "request-id": "r-1", "client-request-id": "c-1"},
    }
}


def test_the_inner_message_of_an_intune_error_is_shown():
    text = error_text(400, INTUNE_BODY)
    assert text.startswith("400 BadRequest: An error has occurred - Operation ID (for customer support): 00000000-")
    assert "_version" not in text and "{" not in text and text.endswith("(request-id r-1)")
    # a plain Graph message, or a message that only looks like JSON, is shown as it was
    assert error_text(403, {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}) == (
        "403 Authorization_RequestDenied: Insufficient privileges."
    )
    assert error_text(400, {"error": {"code": "X", "message": "{not json"}}) == "400 X: {not json"


def test_a_throttled_intune_delete_reports_the_inner_message(make_cloud, lab):
    device = lab.tenant.add_intune_device(fresh_serial("IE"), "THROTTLED", "")
    other = lab.tenant.add_intune_device(fresh_serial("IE"), "FIRST", "")
    graph = make_cloud().graph
    graph.batch_attempts = 1  # no second try: the throttled answer is the last word
    lab.faults.update({"intune_write_limit": 1, "intune_window": 60.0})
    paths = [f"/deviceManagement/managedDevices/{other.id}", f"/deviceManagement/managedDevices/{device.id}"]
    result = graph.batch_delete(paths)
    throttled = [r for r in result.values() if r != "deleted"]
    assert len(throttled) == 1
    assert throttled[0].startswith("429 TooManyRequests: Too many requests: Intune write limit reached - Operation ID")
    assert "_version" not in throttled[0] and "{" not in throttled[0]
