"""What a notice's e-mail looks like on the wire: the headers the recipient's mail system reads, and the text
as written, whatever characters it holds."""

import email
from email.header import decode_header, make_header

from activities.mailer import compose

SENDER = "mappa-noreply@example.gov.uk"
SPOC = "mappa.spoc@nhs-lanarkshire.example.gov.uk"


def on_the_wire(subject: str, body: str) -> email.message.Message:
    message = compose(
        SENDER,
        [SPOC, "co-ordinator@lanarkshire.example.gov.uk"],
        subject,
        body,
        message_id="<notice.abc@example.gov.uk>",
        headers={"X-MAPPA-Case-Ref": "MAPPA-LAN-2026-0001"},
    )
    return email.message_from_bytes(message.as_bytes())


def unfolded(value: str) -> str:
    return " ".join(value.split())


def test_a_plain_notice_goes_as_seven_bit_text_with_every_header() -> None:
    received = on_the_wire("[MAPPA-LAN-2026-0001] reminder", "Record search due by end of Mon 09 Mar 2026.\n")
    assert received["From"] == SENDER
    assert unfolded(received["To"]) == f"{SPOC}, co-ordinator@lanarkshire.example.gov.uk"
    assert received["Subject"] == "[MAPPA-LAN-2026-0001] reminder"
    assert received["Message-ID"] == "<notice.abc@example.gov.uk>"
    assert received["X-MAPPA-Case-Ref"] == "MAPPA-LAN-2026-0001"
    assert received["Date"] is not None
    assert received["Content-Transfer-Encoding"] == "7bit"
    assert received.get_payload() == "Record search due by end of Mon 09 Mar 2026.\n"


def test_a_subject_and_body_beyond_ascii_arrive_as_written() -> None:
    subject = "[MAPPA-LAN-2026-0001] reminder: agency record search — due by end of Mon 09 Mar 2026 ‘now’"
    body = "Due — by the end of Monday. Café Nuñez is an agency’s name here.\n" * 3
    received = on_the_wire(subject, body)
    assert str(make_header(decode_header(received["Subject"]))) == subject
    # Only the words beyond ASCII are encoded: the case reference stays readable in the raw header.
    assert "[MAPPA-LAN-2026-0001] reminder" in received["Subject"]
    assert received.get_content_charset() == "utf-8"
    assert received["Content-Transfer-Encoding"] == "8bit"
    payload = received.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.decode("utf-8") == body


def test_a_long_subject_is_folded_and_unfolds_to_the_same_words() -> None:
    subject = "[MAPPA-LAN-2026-0001] " + " ".join(["escalation"] * 20)
    message = compose(SENDER, [SPOC], subject, "x\n", message_id="<a@b>")
    raw = message.as_bytes()  # as smtplib flattens it
    assert all(len(line) <= 78 for line in raw.splitlines())
    assert unfolded(str(email.message_from_bytes(raw)["Subject"])) == subject
