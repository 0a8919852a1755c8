#!/usr/bin/python3
"""Checks the digest answer (RFC 2617 / RFC 7616, MD5 or SHA-256, qop=auth
or none) in the first request of a sipp message log that carries HEADER
(Authorization or Proxy-Authorization), against PASSWORD: an independent
computation, for what sipp's verifyauth cannot check (it reads only
Authorization). Exit 0 when the response is right, 1 (with why) if not.

  digest_check.py MESSAGE_LOG PASSWORD HEADER
"""
import hashlib
import re
import sys

log, password, header = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(log, encoding="latin-1").read()
request = None
for message in re.split(r"\n-{10,}[^\n]*\n", text):
    lines = message.strip().splitlines()
    first = next((l for l in lines if re.match(r"^[A-Z]+ \S+ SIP/2\.0", l)), None)
    value = next((l.split(":", 1)[1].strip() for l in lines
                  if l.lower().startswith(header.lower() + ":")), None)
    if first and value:
        request = (first.split()[0], value)
        break
if request is None:
    sys.exit(f"no request with {header} in {log}")
method, value = request
if not value.startswith("Digest "):
    sys.exit(f"{header} is not Digest: {value}")
params = dict((k.lower(), v.strip('"')) for k, v in
              re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', value[len("Digest "):]))
algorithm = params.get("algorithm", "MD5").upper()
hash_of = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}.get(algorithm)
if hash_of is None:
    sys.exit(f"algorithm {algorithm} not checked here")
h = lambda s: hash_of(s.encode()).hexdigest()
ha1 = h(f"{params['username']}:{params['realm']}:{password}")
ha2 = h(f"{method}:{params['uri']}")
if "qop" in params:
    expected = h(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}")
else:
    expected = h(f"{ha1}:{params['nonce']}:{ha2}")
if params.get("response") != expected:
    sys.exit(f"{header} response {params.get('response')} is wrong (expected {expected})")
print(f"{header}: {algorithm} digest of {params['username']} for {method} {params['uri']} is right")
