// Pure functions that turn a routing candidate into SIP: the INVITE for the
// callee's leg, and what to do with the callee's final response. No state,
// no stack: the B2BUA's rules for numbers, headers and failover in one place.
#ifndef TRUNKLINE_SERVICES_SIGNALING_CALL_PLAN_H_
#define TRUNKLINE_SERVICES_SIGNALING_CALL_PLAN_H_

#include <string>

#include "services/signaling/sip_stack.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::signaling {

// The INVITE to `candidate` for the call `caller_request` started. Numbers
// and headers follow the candidate's plan: Request-URI and To carry the
// called number at the gateway; From the calling number at our advertised
// address (or anonymous with Privacy: id); P-Asserted-Identity and
// History-Info/Diversion only where the header plan allows. `body` is the
// SDP to send (the caller's, or the relay's when anchored).
OutgoingInvite BuildInvite(const IncomingRequest& caller_request,
                           const v1::Candidate& candidate,
                           const std::string& body);

// Whether `response` (final, >= 300) means "try the next candidate": a
// failover code of the plan, or a timeout or transport error of our own.
bool IsFailover(const SipResponse& response, const v1::FailoverPlan& plan);

// The caller withholds its identity: Privacy id, user or header (RFC 3323,
// 3325), or an anonymous From without any.
bool CallerWithholdsIdentity(const IncomingRequest& in);

// The code to send the caller for the callee's final `code`, after the
// trunk's response-code translation rules (optionally keyed on the Q.850
// cause in the response's Reason header).
int TranslateCode(const SipResponse& response, const v1::FailoverPlan& plan);

// A Reason header value: SIP;cause=503;text="..." (quotes escaped).
std::string SipReason(int cause, const std::string& text);

// "host" or "[v6host]".
std::string UriHost(const std::string& host);

// "host:port" ("[v6host]:port"), or the host alone for port 0: a gateway
// located by DNS SRV (its dnsSrv), where the records give the port.
std::string UriHostPort(const std::string& host, uint32_t port);

// The URI parameter naming `transport`: "" for UDP, ";transport=tcp" or
// ";transport=tls".
std::string TransportParam(v1::Transport transport);

// The scheme of the URIs we make towards a peer: "sips:" for one that takes
// sips: URIs (its gateway's tls.sipsUri), else "sip:".
std::string UriScheme(bool sips);

// Our Contact towards a peer, from our `host` and `port`:
// <sip:host:port;transport=...>, or <sips:host:port> (a sips: URI says TLS
// by itself; RFC 5630 deprecates ;transport=tls with it).
std::string OurContact(const std::string& host, uint32_t port,
                       v1::Transport transport, bool sips);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_CALL_PLAN_H_
