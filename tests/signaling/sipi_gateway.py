#!/usr/bin/python3
"""A SIP-I gateway that says why in ISUP only: binds UDP ADDRESS:PORT and
answers INVITEs in turn: the first with 486 whose body is the ISUP Release
alone (application/ISUP, cause 17 "user busy"), the second with 200 (SDP
echoed back), then, once ACKed, ends that call with a BYE whose
multipart/mixed body holds the ISUP Release (cause 31) and no Reason
header. Neither carries a Reason: the cause is only in the binary ISUP.
Writes every datagram it gets to LOG and exits once its BYE is answered,
or after SECONDS (bounded; the e2e also stops it by PID)."""
import socket
import sys
import time

address, port, log, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])


def release(cause):
    # REL: pointer to the cause indicators, no optional part, cause of two
    # octets (ITU coding, public network serving the local user).
    return bytes([0x0C, 0x02, 0x00, 0x02, 0x82, 0x80 | cause])


def headers_of(message):
    head = message.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return head[0], head[1:]


def header(lines, *names):
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() in names:
            return value.strip()
    return ""


def response(request, code, phrase, tag, content_type=None, body=b""):
    _, lines = headers_of(request)
    out = [f"SIP/2.0 {code} {phrase}"]
    for line in lines:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            out.append(line)
        elif name in ("to", "t"):
            out.append(line if ";tag=" in line else line + ";tag=" + tag)
    out.append(f"Contact: <sip:{address}:{port}>")
    if content_type:
        out.append(f"Content-Type: {content_type}")
    out.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, port))
sock.settimeout(0.2)
deadline = time.time() + seconds
invites = 0
answered = None  # (request, peer) of the call answered
bye_sent = False
with open(log, "wb") as out:
    while time.time() < deadline:
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        out.write(data + b"\n----\n")
        out.flush()
        first, lines = headers_of(data)
        if first.startswith("INVITE "):
            invites += 1
            if invites == 1:
                sock.sendto(response(data, 486, "Busy Here", "busy1",
                                     "application/ISUP;version=itu-t92+",
                                     release(17)), peer)
            else:
                sdp = data.split(b"\r\n\r\n", 1)[1]
                sock.sendto(response(data, 200, "OK", "answer2",
                                     "application/sdp", sdp), peer)
                answered = (data, peer)
        elif first.startswith("ACK ") and answered and not bye_sent:
            request, where = answered
            _, invite_lines = headers_of(request)
            contact = header(invite_lines, "contact", "m").strip("<>").split(">")[0]
            boundary = "isup-rel"
            body = (f"--{boundary}\r\nContent-Type: application/ISUP;version=itu-t92+\r\n"
                    "Content-Disposition: signal;handling=optional\r\n\r\n").encode()
            body += release(31) + f"\r\n--{boundary}--\r\n".encode()
            bye = "\r\n".join([
                f"BYE {contact} SIP/2.0",
                f"Via: SIP/2.0/UDP {address}:{port};branch=z9hG4bK-sipi-bye",
                "From: " + header(invite_lines, "to", "t") + ";tag=answer2",
                "To: " + header(invite_lines, "from", "f"),
                "Call-ID: " + header(invite_lines, "call-id", "i"),
                "CSeq: 1 BYE",
                "Max-Forwards: 70",
                f"Content-Type: multipart/mixed;boundary={boundary}",
                f"Content-Length: {len(body)}",
                "", ""]).encode("latin-1") + body
            sock.sendto(bye, where)
            bye_sent = True
        elif first.startswith("SIP/2.0 200") and "BYE" in header(lines, "cseq"):
            break
