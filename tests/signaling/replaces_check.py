#!/usr/bin/python3
"""What the Replaces e2e tests read from a sipp message log (-trace_msg).

  replaces_check.py dialog LOG
      prints "CALL-ID TO-TAG FROM-TAG" of the first 200 to a CSeq 1 INVITE
      (a sipp UAC's own; nothing before there is one): the dialog as the UAC
      and its peer know it.
  replaces_check.py names-first LOG [--no-sdp] [--header "Name: value"]...
      the peer of the log's first INVITE dialog got a second INVITE whose
      Replaces names that dialog as the peer sees it (RFC 3891: to-tag its
      own, from-tag ours), with Require: replaces and each given header;
      --no-sdp: and Content-Length 0. Prints what it wanted and got; exits
      non-zero when it differs. The second INVITE is the first after the
      first one that carries Replaces.
  replaces_check.py refer-to LOG
      prints "USER HOST PORT CALL-ID TO-TAG FROM-TAG" of the first REFER's
      Refer-To (its URI, and the Replaces embedded in it, percent-decoded);
      nothing before there is one.
"""
import re
import sys
import urllib.parse


def blocks(path):
    text = open(path, errors="replace").read()
    return re.split(r"\n-{20,}[^\n]*\n", text)


def header(block, name):
    found = re.search(r"^%s: *(.*?)\s*$" % re.escape(name), block, re.M | re.I)
    return found.group(1) if found else None


def tag(value):
    found = re.search(r";tag=([^;\s>]+)", value or "")
    return found.group(1) if found else None


def first_answered(path):
    for block in blocks(path):
        if "SIP/2.0 200" in block and re.search(r"^CSeq: *1 INVITE", block, re.M):
            return header(block, "Call-ID"), tag(header(block, "To")), tag(header(block, "From"))
    return None


def names_first(path, no_sdp, headers):
    all_blocks = blocks(path)
    invites = [b for b in all_blocks if re.search(r"^INVITE sip:", b, re.M)]
    oks = [b for b in all_blocks
           if "SIP/2.0 200" in b and re.search(r"^CSeq: *\d+ INVITE", b, re.M)]
    if len(invites) < 2 or not oks:
        print("missing: %d INVITEs, %d 200s" % (len(invites), len(oks)))
        return 1
    first = invites[0]
    second = next((b for b in invites[1:] if header(b, "Replaces")), invites[1])
    # The log's side answered the first INVITE: its tag is in the 200's To,
    # the sender's in the INVITE's From.
    want = "%s;to-tag=%s;from-tag=%s" % (
        header(first, "Call-ID"), tag(header(oks[0], "To")), tag(header(first, "From")))
    got = header(second, "Replaces")
    print("want", want, "got", got)
    ok = got == want
    ok = ok and (header(second, "Require") or "").lower() == "replaces"
    if no_sdp:
        ok = ok and header(second, "Content-Length") == "0"
    for h in headers:
        name, _, value = h.partition(":")
        ok = ok and header(second, name.strip()) == value.strip()
    return 0 if ok else 1


def refer_to(path):
    for block in blocks(path):
        if not re.search(r"^REFER sip:", block, re.M):
            continue
        value = header(block, "Refer-To") or ""
        found = re.search(r"<sips?:([^@>]+)@([^:;?>]+):?(\d*)[^?>]*\?Replaces=([^&>]+)", value)
        if not found:
            return None
        replaces = urllib.parse.unquote(found.group(4))
        call_id = replaces.split(";")[0]
        to_tag = re.search(r";to-tag=([^;]+)", replaces)
        from_tag = re.search(r";from-tag=([^;]+)", replaces)
        if not (to_tag and from_tag):
            return None
        return (found.group(1), found.group(2), found.group(3) or "5060",
                call_id, to_tag.group(1), from_tag.group(1))
    return None


def main():
    verb, path = sys.argv[1], sys.argv[2]
    if verb == "refer-to":
        value = refer_to(path)
        if value:
            print(*value)
        return 0
    if verb == "dialog":
        dialog = first_answered(path)
        if dialog and all(dialog):
            print(*dialog)
        return 0
    args = sys.argv[3:]
    no_sdp = "--no-sdp" in args
    headers = [args[i + 1] for i, a in enumerate(args) if a == "--header"]
    return names_first(path, no_sdp, headers)


if __name__ == "__main__":
    sys.exit(main())
