"""ioreg's serial exactly as printed, however odd: the caller refuses it (the "odd serial" refusal) instead of
the parser calling it absent."""

import pytest

from cleanup.identifiers import SERIAL_RE
from cleanup.parsers.sysinfo import parse_ioreg_platform

UUID = "6C2B7A1E-8F3D-5A4B-9C0D-1E2F3A4B5C6D"


def ioreg(serial: str) -> str:
    return (
        "+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000222, registered, matched, active>\n"
        "    {\n"
        '      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"\n'
        f'      "IOPlatformSerialNumber" = "{serial}"\n'
        '      "manufacturer" = <"Apple Inc.">\n'
        f'      "IOPlatformUUID" = "{UUID}"\n'
        "    }\n"
    )


@pytest.mark.parametrize("serial", ["", "C02XK1JHJG5J\nX", "C02XK1JHJG5J\n", "\nC02XK1JHJG5J", 'C02"XK1', "C02 XK1 ", "C02XK1JHJG5J\r"])
def test_an_odd_serial_is_returned_as_printed(serial):
    found = parse_ioreg_platform(ioreg(serial))
    assert found == {"serial": serial, "uuid": UUID}
    assert not SERIAL_RE.fullmatch(found["serial"])


def test_a_good_serial_and_the_first_of_two():
    assert parse_ioreg_platform(ioreg("C02XK1JHJG5J"))["serial"] == "C02XK1JHJG5J"
    text = ioreg("C02XK1JHJG5J") + '      "IOPlatformSerialNumber" = "OTHER"\n'
    assert parse_ioreg_platform(text)["serial"] == "C02XK1JHJG5J"


def test_a_missing_serial_is_still_an_error():
    with pytest.raises(ValueError):
        parse_ioreg_platform(ioreg("X").replace('"IOPlatformSerialNumber"', '"Other"'))
