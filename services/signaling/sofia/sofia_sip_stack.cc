#include "services/signaling/sofia/sofia_sip_stack.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/isup_cause.h"
#include "services/signaling/sofia/sip_message.h"
#include "services/signaling/sofia/timer_pacer.h"
#include "services/signaling/tls_files.h"

// Sofia's headers only from here on.
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_strlst.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

namespace trunkline::signaling {
namespace {

std::string Str(const char* s) { return s ? s : ""; }

// What our INVITEs and OPTIONS announce; the same list as the B2BUA's
// answers to OPTIONS.
constexpr char kAllowedMethods[] =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY";

// A header's value, whichever way the library renders it.
std::string HeaderValue(su_home_t* home, const sip_header_t* h,
                        const char* name) {
  if (h == nullptr) return "";
  char* s = sip_header_as_string(home, h);
  std::string out = Str(s);
  su_free(home, s);
  const std::string prefix = absl::StrCat(name, ":");
  if (absl::StartsWithIgnoreCase(out, prefix)) {
    out = std::string(absl::StripAsciiWhitespace(out.substr(prefix.size())));
  }
  return out;
}

std::string Headers(const HeaderList& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  return out;
}

std::string ProtoName(v1::Transport t) {
  return t == v1::TRANSPORT_TCP   ? "tcp"
         : t == v1::TRANSPORT_TLS ? "tls"
                                  : "udp";
}

v1::Transport TransportOf(const std::string& proto) {
  return absl::EqualsIgnoreCase(proto, "tcp")   ? v1::TRANSPORT_TCP
         : absl::EqualsIgnoreCase(proto, "tls") ? v1::TRANSPORT_TLS
                                                : v1::TRANSPORT_UDP;
}

// What a TLS socket checks of its peers' certificates (TPTLS_VERIFY_*).
// Connections it opens check the chain and that the certificate names the
// host we meant (Sofia compares the host of the next hop's URL, see
// NextHopUrl, with the certificate's DNS and IP subjectAltNames and CN).
unsigned TlsVerifyPolicy(const TlsSpec& tls) {
  unsigned policy = 0;
  if (tls.verify_incoming) policy |= TPTLS_VERIFY_INCOMING;
  if (tls.verify_outgoing) policy |= TPTLS_VERIFY_SUBJECTS_OUT;
  return policy;
}

// Where a request goes: the next hop's URL, for nta to resolve and
// connect to. Over TLS with a name to check that differs from the address,
// the host is that name (what Sofia checks the certificate against) and
// maddr the address connected to. Port 0 (a gateway located by DNS SRV):
// no port, so nta looks up the SRV records of the name for the transport
// (RFC 3263 section 4.2) and fails over between their targets.
std::string NextHopUrl(const std::string& host, uint32_t port,
                       v1::Transport transport, const std::string& tls_name) {
  if (transport == v1::TRANSPORT_TLS && !tls_name.empty() && tls_name != host) {
    return absl::StrCat("sip:", UriHostPort(tls_name, port),
                        ";transport=tls;maddr=", UriHost(host));
  }
  return absl::StrCat("sip:", UriHostPort(host, port),
                      ";transport=", ProtoName(transport));
}

// The names in the certificate of the peer that sent `msg` (CN and DNS
// subjectAltNames, as Sofia collects them), when its socket verified it;
// Sofia lists none for a certificate it did not verify.
std::vector<std::string> VerifiedPeerNames(tport_t* tp, msg_t* msg) {
  std::vector<std::string> names;
  const su_strlst_t* subjects = tport_delivered_from_subjects(tp, msg);
  const usize_t n = subjects ? su_strlst_len(subjects) : 0;
  for (usize_t i = 0; i < n; ++i) {
    std::string name = Str(su_strlst_item(subjects, i));
    if (!name.empty() &&
        std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(std::move(name));
    }
  }
  return names;
}

// A request's first Reason header value (RFC 3326), or "".
std::string ReasonOf(const sip_t* sip) {
  if (sip == nullptr || sip->sip_reason == nullptr) return "";
  su_home_t home[1] = {};
  su_home_init(home);
  std::string value = HeaderValue(
      home, reinterpret_cast<const sip_header_t*>(sip->sip_reason), "Reason");
  su_home_deinit(home);
  return value;
}

// A BYE's Reason for the other leg: its own Reason header, else the Q.850
// cause of the ISUP Release a SIP-I gateway put in its body.
std::string ByeReasonOf(const sip_t* sip) {
  std::string reason = ReasonOf(sip);
  if (!reason.empty() || sip == nullptr || sip->sip_payload == nullptr) {
    return reason;
  }
  su_home_t home[1] = {};
  su_home_init(home);
  const MessageBody body = BodyOf(home, sip);
  su_home_deinit(home);
  return ReasonFromIsup(body.others, body.content_type, body.body);
}

SipResponse ToResponse(su_home_t* home, nta_outgoing_t* orq, const sip_t* sip) {
  SipResponse r;
  if (sip == nullptr || sip->sip_status == nullptr) {
    r.code = nta_outgoing_status(orq);
    r.phrase = Str(sip_status_phrase(r.code));
    r.local = true;
    return r;
  }
  r.code = sip->sip_status->st_status;
  r.phrase = Str(sip->sip_status->st_phrase);
  r.local = nta_sip_is_internal(sip);
  // A SIP-I carrier's 18x and 200 carry the ISUP message beside the SDP:
  // the SDP is taken, the ISUP ends here.
  const sip_method_t m =
      sip->sip_cseq ? sip->sip_cseq->cs_method : sip_method_unknown;
  MessageBody body = BodyOf(home, sip,
                            m == sip_method_invite || m == sip_method_update ||
                                m == sip_method_prack);
  // A SIP-I gateway's refusal carries its Q.850 cause in the ISUP Release,
  // often with no Reason header: the cause becomes one.
  if (r.code >= 300 && sip->sip_reason == nullptr && body.error.empty()) {
    std::string isup_reason =
        ReasonFromIsup(body.others, body.content_type, body.body);
    if (!isup_reason.empty()) r.headers.emplace_back("Reason", isup_reason);
  }
  if (body.error.empty()) {
    r.content_type = std::move(body.content_type);
    r.body = std::move(body.body);
  } else {
    // As a response without a body: nothing of it reaches the other leg.
    TL_LOG(kWarning, "body of a response dropped")
        .With("code", r.code)
        .With("error", body.error);
  }
  if (sip->sip_reason) {
    r.headers.emplace_back(
        "Reason",
        HeaderValue(home,
                    reinterpret_cast<const sip_header_t*>(sip->sip_reason),
                    "Reason"));
  }
  // Digest challenges (each header, as several realms may challenge).
  for (const sip_www_authenticate_t* a = sip->sip_www_authenticate; a;
       a = a->au_next) {
    r.headers.emplace_back(
        "WWW-Authenticate",
        HeaderValue(home, reinterpret_cast<const sip_header_t*>(a),
                    "WWW-Authenticate"));
  }
  for (const sip_proxy_authenticate_t* a = sip->sip_proxy_authenticate; a;
       a = a->au_next) {
    r.headers.emplace_back(
        "Proxy-Authenticate",
        HeaderValue(home, reinterpret_cast<const sip_header_t*>(a),
                    "Proxy-Authenticate"));
  }
  if (sip->sip_retry_after) {
    r.headers.emplace_back("Retry-After",
                           absl::StrCat(sip->sip_retry_after->af_delta));
  }
  // RFC 4028: the session interval granted, or the least one accepted.
  if (sip->sip_session_expires) {
    r.headers.emplace_back("Session-Expires",
                           HeaderValue(home,
                                       reinterpret_cast<const sip_header_t*>(
                                           sip->sip_session_expires),
                                       "Session-Expires"));
  }
  if (sip->sip_min_se) {
    r.headers.emplace_back(
        "Min-SE",
        HeaderValue(home,
                    reinterpret_cast<const sip_header_t*>(sip->sip_min_se),
                    "Min-SE"));
  }
  // What a registrar granted: Expires, and each Contact's expires (only
  // for REGISTER: every 18x and 2xx carries a Contact, rendering it for
  // nothing would cost the SIP loop on every call).
  if (sip->sip_expires) {
    r.headers.emplace_back("Expires", absl::StrCat(sip->sip_expires->ex_delta));
  }
  const bool register_answer =
      sip->sip_cseq && sip->sip_cseq->cs_method == sip_method_register;
  for (const sip_contact_t* m = register_answer ? sip->sip_contact : nullptr; m;
       m = m->m_next) {
    r.headers.emplace_back(
        "Contact",
        HeaderValue(home, reinterpret_cast<const sip_header_t*>(m), "Contact"));
  }
  return r;
}

}  // namespace

class SofiaSipStack::Impl {
 public:
  Impl() { su_home_init(home_); }
  ~Impl() {
    for (int fd : {trace_read_fd_, trace_write_fd_}) {
      if (fd >= 0) close(fd);
    }
    su_home_deinit(home_);
  }

  // --- loop thread lifecycle ---
  absl::Status StartThread() {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return absl::InternalError("eventfd failed");
    absl::Notification ready;
    thread_ = std::thread([this, &ready] { Run(&ready); });
    ready.WaitForNotification();
    if (root_ == nullptr) {
      thread_.join();
      return absl::InternalError("cannot create Sofia-SIP's su_root");
    }
    return absl::OkStatus();
  }

  void Run(absl::Notification* ready) {
    su_init();
    root_ = su_root_create(nullptr);
    if (root_ == nullptr) {
      ready->Notify();
      return;
    }
    su_wait_t wait[1];
    su_wait_create(wait, wake_fd_, SU_WAIT_IN);
    su_root_register(root_, wait, &Impl::OnWake,
                     reinterpret_cast<su_wakeup_arg_t*>(this), 0);
    // The wake descriptor is registered on the root's epoll descriptor
    // only (Sofia's default port on Linux); another port gets no pacer.
    const int epoll_fd = EpollFdWatching(wake_fd_);
    if (epoll_fd >= 0) {
      pacer_ = std::make_unique<TimerPacer>(root_, epoll_fd);
      if (!pacer_->Install()) pacer_.reset();
    }
    if (pacer_ == nullptr) {
      TL_LOG(kWarning,
             "Sofia-SIP's loop is not on epoll: it spins for up "
             "to 1 ms before each timer");
    }
    ready->Notify();
    su_root_run(root_);
    if (agent_ != nullptr) nta_agent_destroy(agent_);
    agent_ = nullptr;
    su_root_remove_prepoll(root_);
    pacer_.reset();
    su_root_destroy(root_);
    su_deinit();
  }

  void StopThread() {
    StopTraceReader();
    if (!thread_.joinable()) return;
    Post([this] {
      if (agent_ != nullptr) {
        nta_agent_destroy(agent_);
        agent_ = nullptr;
      }
      su_root_break(root_);
    });
    thread_.join();
    close(wake_fd_);
  }

  // The loop is woken only when the queue goes from empty to not empty:
  // tasks posted before it drains the queue ride on the same wake-up.
  void Post(std::function<void()> task) {
    bool wake;
    {
      absl::MutexLock lock(&mu_);
      wake = queue_.empty();
      queue_.push_back(std::move(task));
    }
    if (wake) {
      uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
    }
  }

  static int OnWake(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* arg) {
    auto* self = reinterpret_cast<Impl*>(arg);
    // Read before taking the queue: a task posted after the swap finds the
    // queue empty and writes again, so none is left without a wake-up.
    uint64_t n;
    (void)!read(self->wake_fd_, &n, sizeof n);
    std::vector<std::function<void()>>& tasks = self->running_;
    {
      absl::MutexLock lock(&self->mu_);
      tasks.swap(self->queue_);
    }
    for (auto& t : tasks) t();
    tasks.clear();  // keeps its capacity for the next swap
    return 0;
  }

  // --- sockets ---
  absl::Status Bind(const std::vector<ListenSpec>& specs,
                    InviteHandler* handler) {
    handler_ = handler;
    specs_ = specs;
    agent_ =
        nta_agent_create(root_,  // (url_string_t*)-1 is nta's "no transport
                                 // yet": we add each one below.
                         reinterpret_cast<url_string_t*>(-1), &Impl::OnStray,
                         nullptr, NTATAG_MCLASS(SipParser()), NTATAG_UA(1),
                         NTATAG_SERVER_RPORT(1), NTATAG_CLIENT_RPORT(1),
                         NTATAG_CANCEL_487(1), NTATAG_EXTRA_100(0), TAG_END());
    if (agent_ == nullptr)
      return absl::InternalError("nta_agent_create failed");
    specs_.clear();
    RETURN_IF_ERROR(AddTports(specs));
    default_leg_ = nta_leg_tcreate(agent_, &Impl::OnDefaultRequest,
                                   reinterpret_cast<nta_leg_magic_t*>(this),
                                   NTATAG_NO_DIALOG(1), TAG_END());
    if (default_leg_ == nullptr)
      return absl::InternalError("nta_leg_tcreate failed");
    return absl::OkStatus();
  }

  // Binds each of `specs` (a new topology's listeners too, while running).
  absl::Status AddTports(const std::vector<ListenSpec>& specs) {
    for (const ListenSpec& s : specs) {
      // The host is what Via carries (the advertised address); maddr is
      // the address bound. Sofia binds TLS only for a sips: URL.
      const bool tls = s.transport == v1::TRANSPORT_TLS;
      const std::string url = absl::StrCat(
          tls ? "sips:" : "sip:", UriHost(s.advertised), ":", s.port,
          ";maddr=", s.address, ";transport=", ProtoName(s.transport));
      // The socket reads its certificate while it is bound; the directory
      // goes at the end of this iteration.
      std::unique_ptr<TlsDirectory> tls_dir;
      if (tls) {
        ASSIGN_OR_RETURN(tls_dir, TlsDirectory::Create(s.tls));
      }
      // A name of its own: nta picks the socket of an outgoing request by
      // the name of the tport it is given, not by the tport itself.
      const std::string ident = absl::StrCat("s", next_ident_++);
      if (nta_agent_add_tport(
              agent_, URL_STRING_MAKE(url.c_str()), TPTAG_IDENT(ident.c_str()),
              TAG_IF(tls, TPTAG_CERTIFICATE(tls ? tls_dir->path().c_str()
                                                : nullptr)),
              TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(TlsVerifyPolicy(s.tls))),
              // A connection that closes (the peer hung up, or its TLS
              // certificate was refused) fails the requests waiting on it
              // at once, so the call fails over now rather than at its
              // timeout.
              TPTAG_SDWN_ERROR(1), TAG_IF(tls, TPTAG_TLS_VERIFY_DATE(1)),
              TAG_END()) < 0) {
        return absl::UnavailableError(absl::StrCat(
            "cannot listen on ", s.address, ":", s.port, "/",
            ProtoName(s.transport), " (", url,
            "): address in use or not local? Check the pool's listeners and "
            "the trunks' localPort in the topology"));
      }
      specs_.push_back(s);
    }
    return absl::OkStatus();
  }

  // The primary transport bound to `port` with `transport`, or null.
  tport_t* FindTport(uint32_t port, v1::Transport transport) {
    if (agent_ == nullptr) return nullptr;
    const std::string proto = ProtoName(transport);
    const std::string port_str = absl::StrCat(port);
    for (tport_t* tp = tport_primaries(nta_agent_tports(agent_)); tp;
         tp = tport_next(tp)) {
      const tp_name_t* n = tport_name(tp);
      if (n && Str(n->tpn_port) == port_str &&
          absl::EqualsIgnoreCase(Str(n->tpn_proto), proto)) {
        return tp;
      }
    }
    return nullptr;
  }

  // Our Contact on the socket at `port`; a SIPS URI (TLS implied) when
  // `sips` and the socket is TLS.
  std::string ContactFor(uint32_t port, v1::Transport transport,
                         bool sips = false) {
    for (const ListenSpec& s : specs_) {
      if (s.port == port && s.transport == transport) {
        if (sips && transport == v1::TRANSPORT_TLS) {
          return absl::StrCat("<sips:", UriHost(s.advertised), ":", port, ">");
        }
        return absl::StrCat(
            "<sip:", UriHost(s.advertised), ":", port,
            transport == v1::TRANSPORT_UDP
                ? ""
                : absl::StrCat(";transport=", ProtoName(transport)),
            ">");
      }
    }
    return "";
  }

  // A message no transaction or dialog claims. The one acted on is a 2xx
  // to one of our INVITEs that came again after its transaction went: our
  // ACK was lost, so the callee keeps sending it (defined below).
  static int OnStray(nta_agent_magic_t*, nta_agent_t* agent, msg_t* msg,
                     sip_t* sip);

  IncomingRequest Describe(nta_incoming_t* irq, const sip_t* sip) {
    IncomingRequest r = DescribeRequest(home_, sip);
    msg_t* msg = nta_incoming_getrequest(irq);
    if (msg != nullptr) {
      if (su_addrinfo_t* ai = msg_addrinfo(msg); ai && ai->ai_addr) {
        char host[NI_MAXHOST], port[NI_MAXSERV];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port,
                        sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
          r.source.remote_address = host;
          (void)absl::SimpleAtoi(port, &r.source.remote_port);
        }
      }
      if (tport_t* tp = nta_incoming_transport(agent_, irq, msg)) {
        // A TCP or TLS connection is named after the peer; the listening
        // (primary) tport it belongs to has our port.
        tport_t* primary = tport_is_secondary(tp) ? tport_parent(tp) : tp;
        const tp_name_t* n = tport_name(primary ? primary : tp);
        if (n) {
          (void)absl::SimpleAtoi(Str(n->tpn_port), &r.source.local_port);
          r.source.transport = TransportOf(Str(n->tpn_proto));
        }
        if (r.source.transport == v1::TRANSPORT_TLS) {
          r.source.tls_names = VerifiedPeerNames(tp, msg);
        }
        tport_unref(tp);
      }
      msg_destroy(msg);
    }
    return r;
  }

  static int OnDefaultRequest(nta_leg_magic_t* magic, nta_leg_t*,
                              nta_incoming_t* irq, const sip_t* sip);

  // --- SIP trace ---
  // nta offers no per-message hook, but its transport layer can dump every
  // datagram or stream chunk it sends or receives, raw and with the peer,
  // to a file (TPTAG_DUMP). We point that file at a pipe; a thread of ours
  // reads it (so the loop's blocking writes never wait on the loop itself),
  // splits the records and posts them to the loop. Tracing off points the
  // dump at /dev/null: nta cannot turn a dump off once on.
  void EnableTrace(bool on) {
    if (agent_ == nullptr) return;
    if (on && trace_write_fd_ < 0 && !StartTraceReader()) {
      TL_LOG(kWarning, "SIP trace unavailable: cannot create its pipe");
      return;
    }
    if (trace_write_fd_ < 0) return;  // never on: nothing to turn off
    trace_on_ = on;
    const std::string dump =
        on ? absl::StrCat("/proc/self/fd/", trace_write_fd_) : "/dev/null";
    tport_set_params(nta_agent_tports(agent_), TPTAG_DUMP(dump.c_str()),
                     TAG_END());
  }

  bool StartTraceReader() {
    int data[2], stop[2];
    if (pipe2(data, O_CLOEXEC) != 0) return false;
    if (pipe2(stop, O_CLOEXEC) != 0) {
      close(data[0]);
      close(data[1]);
      return false;
    }
    // Room for bursts while the reader catches up (best effort: the limit
    // for unprivileged processes is 1 MiB).
    (void)fcntl(data[1], F_SETPIPE_SZ, 1 << 20);
    trace_read_fd_ = data[0];
    trace_write_fd_ = data[1];
    trace_stop_read_ = stop[0];
    trace_stop_write_ = stop[1];
    trace_thread_ = std::thread([this] { ReadTrace(); });
    return true;
  }

  void ReadTrace() {
    TportDumpParser parser;
    std::string buf(64 * 1024, '\0');
    for (;;) {
      pollfd p[2] = {{trace_read_fd_, POLLIN, 0},
                     {trace_stop_read_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents != 0) return;
      const ssize_t n = read(trace_read_fd_, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      for (SipTraceRecord& r :
           parser.Feed(absl::string_view(buf.data(), static_cast<size_t>(n)),
                       absl::Now())) {
        Post([this, r = std::move(r)] {
          if (trace_on_ && trace_tap_) trace_tap_(r);
        });
      }
    }
  }

  void StopTraceReader() {
    if (!trace_thread_.joinable()) return;
    const char one = 1;
    (void)!write(trace_stop_write_, &one, 1);
    trace_thread_.join();
    // The write end stays open: tport may still hold the dump file, and
    // its writes must not fail into a closed pipe before the agent goes.
    close(trace_stop_read_);
    close(trace_stop_write_);
  }

  su_home_t home_[1] = {};
  su_root_t* root_ = nullptr;
  nta_agent_t* agent_ = nullptr;
  nta_leg_t* default_leg_ = nullptr;
  InviteHandler* handler_ = nullptr;
  std::vector<ListenSpec> specs_;  // bound so far
  int next_ident_ = 0;
  int wake_fd_ = -1;
  std::unique_ptr<TimerPacer> pacer_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> running_;  // loop thread only
  // SIP trace (loop thread, but the fds, set once before the reader
  // starts).
  std::function<void(const SipTraceRecord&)> trace_tap_;
  bool trace_on_ = false;
  int trace_read_fd_ = -1, trace_write_fd_ = -1;
  int trace_stop_read_ = -1, trace_stop_write_ = -1;
  std::thread trace_thread_;
};

namespace {

// A BYE we sent: nothing waits for its answer; its completion frees the
// dialog leg it was sent on, which must outlive the transaction.
int OnByeDone(nta_outgoing_magic_t* magic, nta_outgoing_t* orq,
              const sip_t* sip) {
  if (nta_outgoing_status(orq) >= 200) {
    nta_outgoing_destroy(orq);
    if (magic != nullptr) nta_leg_destroy(reinterpret_cast<nta_leg_t*>(magic));
  }
  return 0;
}

// The callback of a dialog leg once we sent its BYE: the leg lives on
// until the BYE's answer, possibly longer than the object it called. A
// crossing BYE is answered, anything else gets 481 (RFC 3261 12.2.2).
int OnEndingDialogRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*,
                          const sip_t* sip) {
  if (sip->sip_request->rq_method == sip_method_ack) return 0;
  return sip->sip_request->rq_method == sip_method_bye ? 200 : 481;
}

nta_outgoing_t* SendBye(nta_leg_t* leg, tport_t* tp,
                        const std::string& reason) {
  nta_outgoing_t* bye = nta_outgoing_tcreate(
      leg, &OnByeDone, reinterpret_cast<nta_outgoing_magic_t*>(leg), nullptr,
      SIP_METHOD_BYE, nullptr,
      TAG_IF(!reason.empty(), SIPTAG_REASON_STR(reason.c_str())),
      TAG_IF(tp != nullptr, NTATAG_TPORT(tp)), TAG_END());
  if (bye != nullptr) nta_leg_bind(leg, &OnEndingDialogRequest, nullptr);
  return bye;
}

using AckSink = std::function<void(const std::string&, const std::string&)>;

// A transaction nothing waits on any more (a PRACK, an INVITE given up on):
// it frees itself once final.
int DestroyWhenFinal(nta_outgoing_magic_t*, nta_outgoing_t* orq, const sip_t*) {
  if (nta_outgoing_status(orq) >= 200) nta_outgoing_destroy(orq);
  return 0;
}

// The ACK of the 2xx to the INVITE (or re-INVITE) with CSeq `cseq` on
// `leg`, with the SDP answer when the 2xx carried the offer. A stateful ACK
// is a transaction nta keeps for 64*T1 (32 s) to ACK a retransmitted 2xx
// again; a stateless one leaves nothing behind, and its sender answers
// retransmitted 2xx itself (SofiaClientLeg::AckAgain).
void SendAck(nta_leg_t* leg, tport_t* tp, uint32_t cseq,
             const std::string& content_type, const std::string& body,
             bool stateless = false) {
  sip_cseq_t ack_cseq[1];
  sip_cseq_init(ack_cseq);
  ack_cseq->cs_seq = cseq;
  ack_cseq->cs_method = sip_method_ack;
  ack_cseq->cs_method_name = "ACK";
  nta_outgoing_t* ack = nta_outgoing_tcreate(
      leg, nullptr, nullptr, nullptr, SIP_METHOD_ACK, nullptr,
      SIPTAG_CSEQ(ack_cseq),
      TAG_IF(!body.empty(), SIPTAG_CONTENT_TYPE_STR(content_type.c_str())),
      TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())),
      TAG_IF(stateless, NTATAG_STATELESS(1)),
      TAG_IF(tp != nullptr, NTATAG_TPORT(tp)), TAG_END());
  // A stateless request comes back as (nta_outgoing_t*)-1: already gone.
  if (ack != nullptr && ack != reinterpret_cast<nta_outgoing_t*>(-1)) {
    nta_outgoing_destroy(ack);
  }
}

// Our final or provisional answer on `irq`: `r`'s code, phrase, headers and
// body, and `contact` (null: none).
void Reply(nta_incoming_t* irq, const SipResponse& r, const char* contact) {
  const std::string headers = Headers(r.headers);
  const char* phrase =
      r.phrase.empty() ? sip_status_phrase(r.code) : r.phrase.c_str();
  nta_incoming_treply(
      irq, r.code, phrase ? phrase : "Unknown",
      TAG_IF(contact != nullptr, SIPTAG_CONTACT_STR(contact)),
      TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
      TAG_IF(!r.body.empty(), SIPTAG_CONTENT_TYPE_STR(r.content_type.c_str())),
      TAG_IF(!r.body.empty(), SIPTAG_PAYLOAD_STR(r.body.c_str())), TAG_END());
}

// The offer or answer an ACK or PRACK carries (BodyOf: of a multipart
// body, its SDP part).
MessageBody SessionBodyOf(const sip_t* sip) {
  su_home_t home[1] = {};
  su_home_init(home);
  MessageBody body = BodyOf(home, sip);
  su_home_deinit(home);
  if (!body.error.empty()) {
    // Nothing of a body we cannot read goes on to the other leg (its SDP
    // would name this side's addresses); the ACK or PRACK counts as one
    // without a body.
    TL_LOG(kWarning, "body dropped").With("error", body.error);
    body.body.clear();
    body.content_type.clear();
  }
  return body;
}

// Requests that establish or refresh the remote target, so that they and
// their 2xx carry our Contact: INVITE and UPDATE (RFC 3261 12.2, RFC 3311),
// and the requests of a subscription usage, which must each carry one
// Contact: SUBSCRIBE and NOTIFY (RFC 6665) and REFER, which creates one
// (RFC 3515 2).
bool RefreshesTarget(const std::string& method) {
  return method == "INVITE" || method == "UPDATE" || method == "REFER" ||
         method == "NOTIFY" || method == "SUBSCRIBE";
}

// An in-dialog request we received, answered once through Respond(). The
// ACK of a re-INVITE's 2xx goes to `on_ack`.
class SofiaServerTransaction final : public ServerTransaction {
 public:
  SofiaServerTransaction(nta_incoming_t* irq, std::string method,
                         std::string contact, AckSink on_ack)
      : irq_(irq),
        method_(std::move(method)),
        contact_(std::move(contact)),
        on_ack_(std::move(on_ack)) {
    if (method_ == "INVITE") {
      nta_incoming_bind(irq_, &SofiaServerTransaction::OnAck,
                        reinterpret_cast<nta_incoming_magic_t*>(this));
    }
  }
  ~SofiaServerTransaction() override {
    if (nta_incoming_status(irq_) < 200) {
      nta_incoming_treply(irq_, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    }
    nta_incoming_bind(irq_, nullptr, nullptr);
    nta_incoming_destroy(irq_);
  }

  void Respond(const SipResponse& r) override {
    if (nta_incoming_status(irq_) >= 200) return;
    const bool contact = r.code >= 200 && r.code < 300 &&
                         RefreshesTarget(method_) && !contact_.empty();
    Reply(irq_, r, contact ? contact_.c_str() : nullptr);
  }

 private:
  static int OnAck(nta_incoming_magic_t* magic, nta_incoming_t*,
                   const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaServerTransaction*>(magic);
    if (sip != nullptr && sip->sip_request &&
        sip->sip_request->rq_method == sip_method_ack && self->on_ack_) {
      const MessageBody body = SessionBodyOf(sip);
      self->on_ack_(body.content_type, body.body);
    }
    return 0;
  }

  nta_incoming_t* irq_;
  const std::string method_;
  const std::string contact_;
  AckSink on_ack_;
};

// A request we sent within a dialog.
class SofiaDialogTransaction final : public DialogTransaction {
 public:
  SofiaDialogTransaction(nta_leg_t* leg, tport_t* tp,
                         const std::string& contact, const DialogRequest& req,
                         std::function<void(const SipResponse&)> on_final)
      : leg_(leg), tp_(tp), on_final_(std::move(on_final)) {
    su_home_init(home_);
    const sip_method_t method = sip_method_code(req.method.c_str());
    invite_ = method == sip_method_invite;
    const std::string headers = Headers(req.headers);
    orq_ = nta_outgoing_tcreate(
        leg, &SofiaDialogTransaction::OnResponse,
        reinterpret_cast<nta_outgoing_magic_t*>(this), nullptr, method,
        req.method.c_str(), nullptr,
        TAG_IF(RefreshesTarget(req.method) && !contact.empty(),
               SIPTAG_CONTACT_STR(contact.c_str())),
        TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
        TAG_IF(!req.body.empty(),
               SIPTAG_CONTENT_TYPE_STR(req.content_type.c_str())),
        TAG_IF(!req.body.empty(), SIPTAG_PAYLOAD_STR(req.body.c_str())),
        TAG_IF(tp != nullptr, NTATAG_TPORT(tp)), TAG_END());
  }
  ~SofiaDialogTransaction() override {
    if (orq_ != nullptr && nta_outgoing_status(orq_) < 200) {
      // Let it finish (nta ACKs a non-2xx final) and free itself then.
      nta_outgoing_bind(orq_, &DestroyWhenFinal, nullptr);
    } else if (orq_ != nullptr) {
      nta_outgoing_destroy(orq_);
    }
    su_home_deinit(home_);
  }
  bool failed() const { return orq_ == nullptr; }

  void Ack(const std::string& content_type, const std::string& body) override {
    if (!invite_ || cseq_ == 0) return;
    ack_type_ = content_type;
    ack_body_ = body;
    acked_ = true;
    SendAck();
  }

 private:
  void SendAck() { signaling::SendAck(leg_, tp_, cseq_, ack_type_, ack_body_); }

  static int OnResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq,
                        const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaDialogTransaction*>(magic);
    const int status = nta_outgoing_status(orq);
    if (status < 200) return 0;
    if (self->done_) {
      // A retransmitted 2xx: our ACK was lost.
      if (self->acked_ && status < 300) self->SendAck();
      return 0;
    }
    self->done_ = true;
    if (self->invite_ && status < 300 && sip && sip->sip_cseq) {
      self->cseq_ = sip->sip_cseq->cs_seq;
    }
    SipResponse r = ToResponse(self->home_, orq, sip);
    // The callback may destroy this object: keep the closure alive.
    std::function<void(const SipResponse&)> on_final = self->on_final_;
    on_final(r);
    return 0;
  }

  su_home_t home_[1] = {};
  nta_leg_t* leg_;
  tport_t* tp_;
  std::function<void(const SipResponse&)> on_final_;
  nta_outgoing_t* orq_ = nullptr;
  bool invite_ = false;
  bool done_ = false;
  bool acked_ = false;
  uint32_t cseq_ = 0;
  std::string ack_type_, ack_body_;
};

// A request that could not even be created: it answers like a transport
// error, on the next loop turn (never inside the sender's own call), unless
// its handle is gone by then.
template <typename Handle>
std::unique_ptr<Handle> FailedRequest(
    SofiaSipStack::Impl* stack,
    std::function<void(const SipResponse&)> on_final) {
  struct Failed final : Handle {
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    ~Failed() override { *alive = false; }
    void Ack(const std::string&, const std::string&) {}
  };
  auto handle = std::make_unique<Failed>();
  stack->Post([alive = handle->alive, on_final = std::move(on_final)] {
    if (!*alive) return;
    SipResponse r;
    r.code = 503;
    r.phrase = "Service Unavailable";
    r.local = true;
    on_final(r);
  });
  return handle;
}

// Sends `req` within the dialog of `leg`.
std::unique_ptr<DialogTransaction> SendInDialog(
    SofiaSipStack::Impl* stack, nta_leg_t* leg, tport_t* tp,
    const std::string& contact, const DialogRequest& req,
    std::function<void(const SipResponse&)> on_final) {
  if (leg != nullptr) {
    auto t = std::make_unique<SofiaDialogTransaction>(leg, tp, contact, req,
                                                      on_final);
    if (!t->failed()) return t;
  }
  TL_LOG(kWarning, "cannot send in-dialog request").With("method", req.method);
  return FailedRequest<DialogTransaction>(stack, std::move(on_final));
}

class SofiaTimer final : public Timer {
 public:
  SofiaTimer(su_root_t* root, absl::Duration delay, std::function<void()> fire)
      : fire_(std::move(fire)) {
    timer_ = su_timer_create(su_root_task(root), 0);
    su_timer_set_interval(timer_, &SofiaTimer::OnFire,
                          reinterpret_cast<su_timer_arg_t*>(this),
                          absl::ToInt64Milliseconds(delay));
  }
  ~SofiaTimer() override { su_timer_destroy(timer_); }

 private:
  static void OnFire(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
    auto* self = reinterpret_cast<SofiaTimer*>(arg);
    // The callback may destroy this timer; keep the closure alive.
    std::function<void()> fire = self->fire_;
    fire();
  }
  su_timer_t* timer_;
  std::function<void()> fire_;
};

// Hands an in-dialog request on `leg` (a SofiaServerLeg or SofiaClientLeg)
// to its observer with a transaction to answer it; the ACK of a re-INVITE's
// 2xx goes to the observer too. 481 while the leg has no observer.
template <typename Leg>
int DispatchDialogRequest(Leg* leg, nta_incoming_t* irq, const sip_t* sip,
                          su_home_t* home) {
  if (leg->observer_ == nullptr) return 481;
  auto transaction = std::make_unique<SofiaServerTransaction>(
      irq, Str(sip->sip_request->rq_method_name), leg->contact_,
      [leg](const std::string& type, const std::string& body) {
        if (leg->observer_) leg->observer_->OnAck(type, body);
      });
  leg->observer_->OnDialogRequest(DescribeDialogRequest(home, sip),
                                  std::move(transaction));
  return 0;
}

// The caller's leg.
// A leg's dialog identifiers (nta keeps the tags; the Call-ID is ours).
DialogId IdOf(const nta_leg_t* leg, const std::string& call_id) {
  DialogId id;
  id.call_id = call_id;
  if (leg != nullptr) {
    id.local_tag = Str(nta_leg_get_tag(leg));
    id.remote_tag = Str(nta_leg_get_rtag(leg));
  }
  return id;
}

class SofiaServerLeg final : public ServerLeg {
  template <typename Leg>
  friend int DispatchDialogRequest(Leg*, nta_incoming_t*, const sip_t*,
                                   su_home_t*);

 public:
  SofiaServerLeg(SofiaSipStack::Impl* stack, nta_incoming_t* irq,
                 const sip_t* sip, std::string contact, tport_t* tp)
      : stack_(stack), irq_(irq), tp_(tp), contact_(std::move(contact)) {
    if (sip->sip_call_id != nullptr) call_id_ = Str(sip->sip_call_id->i_id);
    // RFC 3262: the caller requires or supports reliable provisionals.
    must_100rel_ =
        sip->sip_require && sip_has_feature(sip->sip_require, "100rel");
    can_100rel_ =
        must_100rel_ ||
        (sip->sip_supported && sip_has_feature(sip->sip_supported, "100rel"));
    leg_ = nta_leg_tcreate(stack->agent_, &SofiaServerLeg::OnRequest,
                           reinterpret_cast<nta_leg_magic_t*>(this),
                           SIPTAG_CALL_ID(sip->sip_call_id),
                           SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                           TAG_END());
    if (leg_ != nullptr) {
      nta_leg_tag(leg_, nullptr);
      nta_leg_server_route(leg_, sip->sip_record_route, sip->sip_contact);
      nta_incoming_tag(irq_, nta_leg_get_tag(leg_));
    }
    nta_incoming_bind(irq_, &SofiaServerLeg::OnAckCancel,
                      reinterpret_cast<nta_incoming_magic_t*>(this));
  }
  ~SofiaServerLeg() override {
    if (irq_ != nullptr) {
      DropReliables();
      if (nta_incoming_status(irq_) < 200) {
        nta_incoming_treply(irq_, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
      }
      nta_incoming_bind(irq_, nullptr, nullptr);
      nta_incoming_destroy(irq_);
    }
    if (leg_ != nullptr && !bye_sent_) nta_leg_destroy(leg_);
  }

  DialogId dialog_id() const override { return IdOf(leg_, call_id_); }
  std::string contact() const override { return contact_; }
  void SetObserver(ServerLegObserver* observer) override {
    observer_ = observer;
  }

  int final_status() const override {
    const int status =
        irq_ != nullptr ? nta_incoming_status(irq_) : released_status_;
    return status >= 200 ? status : 0;
  }

  void Respond(const SipResponse& r) override {
    if (irq_ == nullptr || nta_incoming_status(irq_) >= 200) return;
    const bool dialog = r.code > 100 && r.code < 300;
    // A provisional goes reliably (RSeq, Require: 100rel; nta retransmits
    // it until the caller's PRACK, which it answers) when the caller
    // requires it, or supports it and the response carries early media.
    if (r.code > 100 && r.code < 200 && can_100rel_ &&
        (must_100rel_ || !r.body.empty())) {
      const std::string headers = Headers(r.headers);
      const char* phrase =
          r.phrase.empty() ? sip_status_phrase(r.code) : r.phrase.c_str();
      nta_reliable_t* rel = nta_reliable_treply(
          irq_, &SofiaServerLeg::OnPrack,
          reinterpret_cast<nta_reliable_magic_t*>(this), r.code,
          phrase ? phrase : "Unknown",
          TAG_IF(!contact_.empty(), SIPTAG_CONTACT_STR(contact_.c_str())),
          TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
          TAG_IF(!r.body.empty(),
                 SIPTAG_CONTENT_TYPE_STR(r.content_type.c_str())),
          TAG_IF(!r.body.empty(), SIPTAG_PAYLOAD_STR(r.body.c_str())),
          TAG_END());
      if (rel != nullptr) {
        reliables_.push_back({rel, r.our_offer, !r.body.empty()});
      }
      if (rel != nullptr || must_100rel_) return;
    }
    Reply(irq_, r, dialog && !contact_.empty() ? contact_.c_str() : nullptr);
  }

  void SendBye(const std::string& reason) override {
    if (leg_ == nullptr || bye_sent_) return;
    if (signaling::SendBye(leg_, tp_, reason) != nullptr) bye_sent_ = true;
  }

  std::unique_ptr<DialogTransaction> SendRequest(
      const DialogRequest& request,
      std::function<void(const SipResponse&)> on_final) override {
    return SendInDialog(stack_, bye_sent_ ? nullptr : leg_, tp_, contact_,
                        request, std::move(on_final));
  }

 private:
  static int OnAckCancel(nta_incoming_magic_t* magic, nta_incoming_t* irq,
                         const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaServerLeg*>(magic);
    if (self->observer_ == nullptr || sip == nullptr || !sip->sip_request) {
      return 0;
    }
    if (sip->sip_request->rq_method == sip_method_cancel) {
      self->observer_->OnCancel();
    } else if (sip->sip_request->rq_method == sip_method_ack) {
      const MessageBody body = SessionBodyOf(sip);
      self->observer_->OnAck(body.content_type, body.body);
      self->ReleaseInvite();
    }
    return 0;
  }

  // The INVITE is answered and ACKed: nothing more can come for it, so its
  // transaction (the request and our 2xx, several KiB) need not live as
  // long as the call. nta keeps what it needs for retransmissions.
  void ReleaseInvite() {
    if (irq_ == nullptr || nta_incoming_status(irq_) < 200) return;
    DropReliables();
    released_status_ = nta_incoming_status(irq_);
    nta_incoming_bind(irq_, nullptr, nullptr);
    nta_incoming_destroy(irq_);
    irq_ = nullptr;
  }

  // The caller's PRACK of one of our reliable provisionals; nta answers it
  // with the status returned. nta also calls this without a PRACK (no
  // `prack`) when it gives up on the response.
  // nta matched the PRACK's RAck to `rel`.
  static int OnPrack(nta_reliable_magic_t* magic, nta_reliable_t* rel,
                     nta_incoming_t* prack, const sip_t* sip) {
    if (prack == nullptr || sip == nullptr) return 200;
    auto* self = reinterpret_cast<SofiaServerLeg*>(magic);
    bool our_offer = false, with_sdp = false;
    for (const Reliable& r : self->reliables_) {
      if (r.response == rel) {
        our_offer = r.our_offer;
        with_sdp = r.with_sdp;
      }
    }
    if (self->observer_) {
      const MessageBody body = SessionBodyOf(sip);
      self->observer_->OnPrack(body.content_type, body.body, our_offer,
                               with_sdp);
    }
    return 200;
  }

  // Our reliable provisionals point at this leg: they stop doing so
  // before the leg or the INVITE's transaction (which holds them) goes.
  void DropReliables() {
    for (const Reliable& r : reliables_) nta_reliable_destroy(r.response);
    reliables_.clear();
  }

  static int OnRequest(nta_leg_magic_t* magic, nta_leg_t*, nta_incoming_t* irq,
                       const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaServerLeg*>(magic);
    switch (sip->sip_request->rq_method) {
      case sip_method_bye:
        if (self->observer_) self->observer_->OnBye(ByeReasonOf(sip));
        return 200;
      case sip_method_ack:
        if (self->observer_) {
          const MessageBody body = SessionBodyOf(sip);
          self->observer_->OnAck(body.content_type, body.body);
        }
        self->ReleaseInvite();
        return 0;
      case sip_method_cancel:
        if (self->observer_) self->observer_->OnCancel();
        return 200;
      default:
        // re-INVITE, UPDATE, INFO, REFER, NOTIFY, ...: the call decides.
        return DispatchDialogRequest(self, irq, sip, self->stack_->home_);
    }
  }

  SofiaSipStack::Impl* stack_;
  nta_incoming_t* irq_;
  tport_t* tp_;
  bool must_100rel_ = false;
  bool can_100rel_ = false;
  // Our reliable provisionals still known to nta, and whether each
  // carried the B2BUA's offer (SipResponse::our_offer), which the PRACK
  // naming it in its RAck must answer.
  struct Reliable {
    nta_reliable_t* response;
    bool our_offer;
    bool with_sdp;
  };
  std::vector<Reliable> reliables_;
  nta_leg_t* leg_ = nullptr;
  std::string call_id_;
  std::string contact_;
  int released_status_ = 0;  // the final status, once irq_ is gone
  ServerLegObserver* observer_ = nullptr;
  bool bye_sent_ = false;
};

// A leg we started towards a candidate.
class SofiaClientLeg final : public ClientLeg {
  template <typename Leg>
  friend int DispatchDialogRequest(Leg*, nta_incoming_t*, const sip_t*,
                                   su_home_t*);

 public:
  SofiaClientLeg(SofiaSipStack::Impl* stack, const OutgoingInvite& inv,
                 ClientLegObserver* observer)
      : stack_(stack), observer_(observer) {
    su_home_init(home_);
    // A fresh Call-ID: nothing of the caller's leg shows on this one.
    sip_call_id_t* call_id = sip_call_id_create(home_, nullptr);
    if (call_id != nullptr) call_id_ = Str(call_id->i_id);
    leg_ = nta_leg_tcreate(stack->agent_, &SofiaClientLeg::OnRequest,
                           reinterpret_cast<nta_leg_magic_t*>(this),
                           SIPTAG_CALL_ID(call_id),
                           SIPTAG_FROM_STR(inv.from.c_str()),
                           SIPTAG_TO_STR(inv.to.c_str()), TAG_END());
    if (leg_ == nullptr) return;
    nta_leg_tag(leg_, nullptr);
    invite_ = inv;
    tp_ = stack->FindTport(inv.local_port, inv.transport);
    contact_ = inv.contact;
    orq_ = SendInvite({});
  }
  ~SofiaClientLeg() override {
    if (orq_ != nullptr && nta_outgoing_status(orq_) < 200) {
      // Still waiting (e.g. for the 487 after our CANCEL): the transaction
      // must live on to ACK the final response, so it frees itself then.
      nta_outgoing_bind(orq_, &DestroyWhenFinal, nullptr);
    } else if (orq_ != nullptr) {
      nta_outgoing_destroy(orq_);
    }
    DropForkDialogs();
    if (leg_ != nullptr && !bye_sent_) nta_leg_destroy(leg_);
    su_home_deinit(home_);
  }

  // A leg that could not even be created answers like a transport error,
  // on the next loop turn (never inside the caller's own call).
  bool failed() const { return orq_ == nullptr; }

  bool Resend(const HeaderList& extra) override {
    if (leg_ == nullptr || orq_ == nullptr || !final_ || tagged_) return false;
    nta_outgoing_t* orq = SendInvite(extra);
    if (orq == nullptr) return false;
    nta_outgoing_destroy(orq_);  // its final response is in (and ACKed)
    orq_ = orq;
    final_ = false;
    return true;
  }

  void Cancel() override {
    if (orq_ != nullptr && !final_) {
      nta_outgoing_tcancel(orq_, nullptr, nullptr, TAG_END());
      final_ = true;  // nothing more to cancel
    }
  }

  void Ack(const std::string& content_type, const std::string& body) override {
    if (leg_ == nullptr || cseq_ == 0) return;
    // Stateless: nta would keep a stateful ACK's transaction (about 4 KiB)
    // for 32 s only to ACK a retransmitted 2xx, which AckAgain does.
    signaling::SendAck(leg_, tp_, cseq_, content_type, body,
                       /*stateless=*/true);
    acked_ = true;
    ack_content_type_ = content_type;
    ack_body_ = body;
    if (orq_ != nullptr && final_) {
      // nta still holds the answered transaction for timer D (32 s), but
      // a 2xx that comes again no longer stops there: it reaches OnStray,
      // hence AckAgain.
      nta_outgoing_destroy(orq_);
      orq_ = nullptr;
      // Kept only to send the INVITE again (a challenge, a 422).
      invite_ = OutgoingInvite();
    }
  }

  // A 2xx to our INVITE that came again once its transaction was gone: the
  // callee did not get our ACK (RFC 3261 13.2.2.4), so the leg of its
  // dialog sends it again. Other strays (no such dialog, an older CSeq)
  // are dropped.
  static void AckAgain(nta_agent_t* agent, const sip_t* sip) {
    nta_leg_t* leg = nta_leg_by_dialog(
        agent, nullptr, sip->sip_call_id, sip->sip_to->a_tag,
        sip->sip_to->a_url, sip->sip_from->a_tag, sip->sip_from->a_url);
    auto* self = reinterpret_cast<SofiaClientLeg*>(
        leg != nullptr ? nta_leg_magic(leg, &SofiaClientLeg::OnRequest)
                       : nullptr);
    if (self == nullptr || !self->acked_ ||
        self->cseq_ != sip->sip_cseq->cs_seq) {
      return;
    }
    signaling::SendAck(self->leg_, self->tp_, self->cseq_,
                       self->ack_content_type_, self->ack_body_,
                       /*stateless=*/true);
  }

  void SendBye(const std::string& reason) override {
    if (leg_ == nullptr || bye_sent_ || cseq_ == 0) return;
    if (signaling::SendBye(leg_, tp_, reason) != nullptr) bye_sent_ = true;
  }

  std::unique_ptr<DialogTransaction> SendRequest(
      const DialogRequest& request,
      std::function<void(const SipResponse&)> on_final) override {
    // Within the confirmed dialog, or the early one of the first fork that
    // rang (an INFO or UPDATE before the answer).
    const bool in_dialog = (cseq_ != 0 || (tagged_ && !final_)) && !bye_sent_;
    return SendInDialog(stack_, in_dialog ? leg_ : nullptr, tp_, contact_,
                        request, std::move(on_final));
  }

  std::string call_id() const override { return call_id_; }
  DialogId dialog_id() const override { return IdOf(leg_, call_id_); }
  std::string contact() const override { return contact_; }

  void Prack(const std::string& content_type,
             const std::string& body) override {
    if (held_rseq_ == 0 || final_) return;
    SendPrack(EarlyDialog(held_tag_), held_rseq_, held_cseq_, content_type,
              body);
    held_rseq_ = 0;
  }

 private:
  // RFC 3262 on this leg: we acknowledge the callee's reliable provisional
  // ourselves (the caller's leg has its own, see SofiaServerLeg::Respond).
  // nta_outgoing_prack() wants a transaction tagged per fork; a PRACK
  // within the early dialog does the same: RAck names the response.
  void SendPrack(nta_leg_t* dialog, uint32_t rseq, uint32_t cseq,
                 const std::string& content_type, const std::string& body) {
    if (dialog == nullptr) return;
    sip_rack_t rack[1];
    sip_rack_init(rack);
    rack->ra_response = rseq;
    rack->ra_cseq = cseq;
    rack->ra_method = sip_method_invite;
    rack->ra_method_name = "INVITE";
    nta_outgoing_t* prack = nta_outgoing_tcreate(
        dialog, &DestroyWhenFinal, nullptr, nullptr, SIP_METHOD_PRACK, nullptr,
        SIPTAG_RACK(rack), TAG_IF(tp_ != nullptr, NTATAG_TPORT(tp_)),
        TAG_IF(!body.empty(), SIPTAG_CONTENT_TYPE_STR(content_type.c_str())),
        TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())), TAG_END());
    if (prack == nullptr) {
      TL_LOG(kWarning, "cannot PRACK a reliable provisional")
          .With("call_id", call_id_)
          .With("rseq", rseq);
    }
  }

  static int OnResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq,
                        const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaClientLeg*>(magic);
    const char* tag = sip && sip->sip_to ? sip->sip_to->a_tag : nullptr;
    const bool reliable =
        tag != nullptr && sip->sip_status && sip->sip_status->st_status > 100 &&
        sip->sip_status->st_status < 200 && sip->sip_rseq && sip->sip_require &&
        sip_has_feature(sip->sip_require, "100rel");
    if (reliable && !self->NextInOrder(tag, sip->sip_rseq->rs_response)) {
      return 0;
    }
    SipResponse r = ToResponse(self->home_, orq, sip);
    r.reliable = reliable;
    if (tag != nullptr && r.code > 100 && r.code < 200 &&
        std::find(self->early_tags_.begin(), self->early_tags_.end(), tag) ==
            self->early_tags_.end()) {
      // One early dialog per fork (RFC 3261 13.2.2.4): past the trunk's
      // limit, a new fork's provisionals are not relayed.
      const uint32_t limit = self->invite_.max_early_dialogs;
      if (limit > 0 && self->early_tags_.size() >= limit) {
        // Still acknowledged when sent reliably (RFC 3262 4: every
        // reliable provisional gets its PRACK), or the fork would send it
        // again and give up on the call.
        if (reliable) {
          self->SendPrack(self->ForkDialog(tag, sip),
                          sip->sip_rseq->rs_response,
                          sip->sip_cseq ? sip->sip_cseq->cs_seq : 0, "", "");
        }
        return 0;
      }
      self->early_tags_.push_back(tag);
    }
    if (tag != nullptr && r.code > 100 && r.code < 300 && !self->tagged_) {
      // Early requests (PRACK, INFO, UPDATE) go to the first fork that
      // rang, along the route set and to the target its response gives
      // (RFC 3261 12.1.2).
      nta_leg_rtag(self->leg_, tag);
      if (r.code < 200) {
        nta_leg_client_reroute(self->leg_, sip->sip_record_route,
                               sip->sip_contact, 1);
      }
      self->tagged_ = true;
    } else if (tag != nullptr && r.code >= 200 && r.code < 300 &&
               self->cseq_ == 0 &&
               !su_casematch(nta_leg_get_rtag(self->leg_), tag)) {
      // Another fork than the first to ring answered: the dialog (ACK,
      // BYE, re-INVITEs) is with the one that answered.
      self->Retag(sip);
    }
    if (reliable && self->tagged_) {
      // RFC 3262 on this leg: we acknowledge the callee's reliable
      // provisional ourselves (the caller's leg has its own, see
      // SofiaServerLeg::Respond).
      nta_leg_t* dialog = self->ForkDialog(tag, sip);
      const uint32_t cseq = sip->sip_cseq ? sip->sip_cseq->cs_seq : 0;
      if (!r.body.empty() && self->invite_.body.empty() &&
          !self->early_offer_seen_) {
        // The callee's offer (our INVITE had none): its PRACK must carry
        // the answer, which the B2BUA gets from the caller (Prack()).
        self->early_offer_seen_ = true;
        self->held_rseq_ = sip->sip_rseq->rs_response;
        self->held_cseq_ = cseq;
        self->held_tag_ = tag;
        r.offer_awaits_prack = true;
      } else {
        self->SendPrack(dialog, sip->sip_rseq->rs_response, cseq, "", "");
      }
    }
    if (r.code >= 200 && r.code < 300 && sip) {
      nta_leg_client_route(self->leg_, sip->sip_record_route, sip->sip_contact);
      if (sip->sip_cseq) self->cseq_ = sip->sip_cseq->cs_seq;
    }
    if (r.code >= 200) {
      self->final_ = true;
      self->DropForkDialogs();
      std::vector<std::pair<std::string, uint32_t>>().swap(self->rseqs_);
    }
    if (self->observer_) self->observer_->OnResponse(r);
    return 0;
  }

  // Whether a reliable provisional from fork `tag` with `rseq` is the
  // next of that fork's (RFC 3262 4: each fork numbers its own, from a
  // random start): a retransmission of one already taken, or one ahead of
  // a lost one, is discarded (the fork sends it again). nta's own check
  // keeps one count for the whole INVITE, which drops every fork's but the
  // first's.
  bool NextInOrder(absl::string_view tag, uint32_t rseq) {
    for (auto& [fork, last] : rseqs_) {
      if (!absl::EqualsIgnoreCase(fork, tag)) continue;
      if (rseq != last + 1) return false;
      last = rseq;
      return true;
    }
    rseqs_.emplace_back(std::string(tag), rseq);
    return true;
  }

  // The early dialog of the fork whose To tag is `tag` (RFC 3261 12.1.2),
  // its route set and target from `sip`, its provisional: leg_ for the
  // first fork that rang, a leg of its own for each other fork, kept until
  // the final response. A fork's PRACKs go within its own dialog (RFC 3262
  // 4): sent within another's, they would not acknowledge its
  // provisionals, which it would send again until it gave up on the call.
  nta_leg_t* ForkDialog(const char* tag, const sip_t* sip) {
    nta_leg_t* dialog = EarlyDialog(tag);
    if (dialog == nullptr) {
      dialog = nta_leg_tcreate(
          stack_->agent_, &SofiaClientLeg::OnRequest,
          reinterpret_cast<nta_leg_magic_t*>(this),
          SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_from),
          SIPTAG_TO(sip->sip_to), SIPTAG_CSEQ(sip->sip_cseq), TAG_END());
      if (dialog == nullptr) return nullptr;
      fork_dialogs_.emplace_back(tag, dialog);
    }
    nta_leg_client_reroute(dialog, sip->sip_record_route, sip->sip_contact, 1);
    return dialog;
  }
  // The early dialog of fork `tag`, if there is one yet.
  nta_leg_t* EarlyDialog(absl::string_view tag) {
    if (leg_ == nullptr) return nullptr;
    if (const char* first = nta_leg_get_rtag(leg_);
        first != nullptr && absl::EqualsIgnoreCase(first, tag)) {
      return leg_;
    }
    for (const auto& [fork, dialog] : fork_dialogs_) {
      if (absl::EqualsIgnoreCase(fork, tag)) return dialog;
    }
    return nullptr;
  }
  void DropForkDialogs() {
    for (auto& [fork, dialog] : fork_dialogs_) nta_leg_destroy(dialog);
    fork_dialogs_.clear();
  }

  // A new dialog leg for the fork whose 2xx we take; the old one (the
  // first fork's early dialog) goes. The CSeq goes on from the INVITE's.
  void Retag(const sip_t* sip) {
    for (auto it = fork_dialogs_.begin(); it != fork_dialogs_.end(); ++it) {
      if (absl::EqualsIgnoreCase(it->first, sip->sip_to->a_tag)) {
        // Its early dialog, whose CSeq went on with our PRACKs.
        nta_leg_destroy(leg_);
        leg_ = it->second;
        fork_dialogs_.erase(it);
        return;
      }
    }
    nta_leg_t* fresh = nta_leg_tcreate(
        stack_->agent_, &SofiaClientLeg::OnRequest,
        reinterpret_cast<nta_leg_magic_t*>(this),
        SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_from),
        SIPTAG_TO(sip->sip_to), SIPTAG_CSEQ(sip->sip_cseq), TAG_END());
    if (fresh == nullptr) {
      TL_LOG(kWarning, "cannot follow the answering fork")
          .With("call_id", call_id_);
      return;
    }
    nta_leg_destroy(leg_);
    leg_ = fresh;
  }

  // The INVITE (again, with `extra` headers for a retry).
  nta_outgoing_t* SendInvite(const HeaderList& extra) {
    const OutgoingInvite& inv = invite_;
    const std::string route = NextHopUrl(inv.next_hop_host, inv.next_hop_port,
                                         inv.transport, inv.tls_name);
    // Extra headers replace those of the same name (a 422's larger
    // Session-Expires, a newer Authorization) or are added; they stay for
    // later retries.
    HeaderList all;
    for (const auto& h : inv.headers) {
      bool replaced = false;
      for (const auto& e : extra) {
        replaced |= absl::EqualsIgnoreCase(e.first, h.first);
      }
      if (!replaced) all.push_back(h);
    }
    all.insert(all.end(), extra.begin(), extra.end());
    invite_.headers = all;
    const std::string headers = Headers(all);
    return nta_outgoing_tcreate(
        leg_, &SofiaClientLeg::OnResponse,
        reinterpret_cast<nta_outgoing_magic_t*>(this),
        URL_STRING_MAKE(route.c_str()), SIP_METHOD_INVITE,
        URL_STRING_MAKE(inv.request_uri.c_str()),
        SIPTAG_CONTACT_STR(inv.contact.c_str()),
        SIPTAG_ALLOW_STR(kAllowedMethods),
        TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
        TAG_IF(!inv.body.empty(),
               SIPTAG_CONTENT_TYPE_STR(inv.content_type.c_str())),
        TAG_IF(!inv.body.empty(), SIPTAG_PAYLOAD_STR(inv.body.c_str())),
        TAG_IF(tp_ != nullptr, NTATAG_TPORT(tp_)), TAG_END());
  }

  static int OnRequest(nta_leg_magic_t* magic, nta_leg_t*, nta_incoming_t* irq,
                       const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaClientLeg*>(magic);
    switch (sip->sip_request->rq_method) {
      case sip_method_bye:
        if (self->observer_) self->observer_->OnBye(ByeReasonOf(sip));
        return 200;
      case sip_method_ack:
        if (self->observer_) {
          const MessageBody body = SessionBodyOf(sip);
          self->observer_->OnAck(body.content_type, body.body);
        }
        return 0;
      default:
        return DispatchDialogRequest(self, irq, sip, self->home_);
    }
  }

  SofiaSipStack::Impl* stack_;
  ClientLegObserver* observer_;
  OutgoingInvite invite_;
  tport_t* tp_ = nullptr;
  std::string contact_;
  su_home_t home_[1] = {};
  std::string call_id_;
  nta_leg_t* leg_ = nullptr;
  nta_outgoing_t* orq_ = nullptr;
  uint32_t cseq_ = 0;
  bool tagged_ = false;
  // The To tags of the forks that sent provisionals.
  std::vector<std::string> early_tags_;
  bool final_ = false;
  bool bye_sent_ = false;
  // The ACK of the 2xx, kept to send it again (AckAgain); a body only when
  // the 2xx carried the offer.
  bool acked_ = false;
  std::string ack_content_type_;
  std::string ack_body_;
  // The callee's offer came in a reliable provisional; until Prack(), the
  // RSeq and CSeq its PRACK names (0: no PRACK held back).
  bool early_offer_seen_ = false;
  uint32_t held_rseq_ = 0;
  uint32_t held_cseq_ = 0;
  std::string held_tag_;  // the fork that offered
  // The early dialogs of the forks other than the first that rang (its is
  // leg_), by To tag, until the final response (ForkDialog).
  std::vector<std::pair<std::string, nta_leg_t*>> fork_dialogs_;
  // The last RSeq taken from each fork that sent reliably (NextInOrder).
  std::vector<std::pair<std::string, uint32_t>> rseqs_;
};

}  // namespace

int SofiaSipStack::Impl::OnStray(nta_agent_magic_t*, nta_agent_t* agent,
                                 msg_t* msg, sip_t* sip) {
  if (sip != nullptr && sip->sip_status != nullptr &&
      sip->sip_status->st_status >= 200 && sip->sip_status->st_status < 300 &&
      sip->sip_cseq != nullptr &&
      sip->sip_cseq->cs_method == sip_method_invite &&
      sip->sip_call_id != nullptr && sip->sip_from != nullptr &&
      sip->sip_to != nullptr) {
    SofiaClientLeg::AckAgain(agent, sip);
  }
  msg_destroy(msg);
  return 0;
}

namespace {

// A request outside any dialog (OPTIONS keepalive): its own throw-away
// leg for Call-ID, From and To, and the transaction.
class SofiaRequest final : public ClientTransaction {
 public:
  SofiaRequest(SofiaSipStack::Impl* stack, const OutgoingRequest& req,
               std::function<void(const SipResponse&)> on_final)
      : on_final_(std::move(on_final)) {
    su_home_init(home_);
    if (stack->agent_ == nullptr) return;
    sip_call_id_t* call_id = req.call_id.empty()
                                 ? sip_call_id_create(home_, nullptr)
                                 : sip_call_id_make(home_, req.call_id.c_str());
    leg_ = nta_leg_tcreate(stack->agent_, nullptr, nullptr,
                           SIPTAG_CALL_ID(call_id),
                           SIPTAG_FROM_STR(req.from.c_str()),
                           SIPTAG_TO_STR(req.to.c_str()), TAG_END());
    if (leg_ == nullptr) return;
    nta_leg_tag(leg_, nullptr);
    const std::string route = NextHopUrl(req.next_hop_host, req.next_hop_port,
                                         req.transport, req.tls_name);
    const std::string headers = Headers(req.headers);
    tport_t* tp = stack->FindTport(req.local_port, req.transport);
    const sip_method_t method = sip_method_code(req.method.c_str());
    sip_cseq_t* cseq = req.cseq == 0 ? nullptr
                                     : sip_cseq_create(home_, req.cseq, method,
                                                       req.method.c_str());
    orq_ = nta_outgoing_tcreate(
        leg_, &SofiaRequest::OnResponse,
        reinterpret_cast<nta_outgoing_magic_t*>(this),
        URL_STRING_MAKE(route.c_str()), method, req.method.c_str(),
        URL_STRING_MAKE(req.request_uri.c_str()),
        TAG_IF(cseq != nullptr, SIPTAG_CSEQ(cseq)),
        TAG_IF(!req.contact.empty(), SIPTAG_CONTACT_STR(req.contact.c_str())),
        SIPTAG_ALLOW_STR(kAllowedMethods),
        TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
        TAG_IF(tp != nullptr, NTATAG_TPORT(tp)), TAG_END());
  }
  ~SofiaRequest() override {
    // An unanswered transaction is discarded by nta (no callback any more).
    if (orq_ != nullptr) nta_outgoing_destroy(orq_);
    if (leg_ != nullptr) nta_leg_destroy(leg_);
    su_home_deinit(home_);
  }
  bool failed() const { return orq_ == nullptr; }

 private:
  static int OnResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq,
                        const sip_t* sip) {
    auto* self = reinterpret_cast<SofiaRequest*>(magic);
    if (nta_outgoing_status(orq) < 200 || self->done_) return 0;
    self->done_ = true;
    SipResponse r = ToResponse(self->home_, orq, sip);
    // The callback may destroy this object: keep the closure alive.
    std::function<void(const SipResponse&)> on_final = self->on_final_;
    on_final(r);
    return 0;
  }

  std::function<void(const SipResponse&)> on_final_;
  su_home_t home_[1] = {};
  nta_leg_t* leg_ = nullptr;
  nta_outgoing_t* orq_ = nullptr;
  bool done_ = false;
};

}  // namespace

int SofiaSipStack::Impl::OnDefaultRequest(nta_leg_magic_t* magic, nta_leg_t*,
                                          nta_incoming_t* irq,
                                          const sip_t* sip) {
  auto* self = reinterpret_cast<Impl*>(magic);
  if (sip == nullptr || sip->sip_request == nullptr) return 400;
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_ack) {
    nta_incoming_destroy(irq);
    return 0;
  }
  IncomingRequest request = self->Describe(irq, sip);
  if (method == sip_method_invite) {
    if (sip->sip_to && sip->sip_to->a_tag) {
      // A re-INVITE for a dialog we do not know: 481 to a configured peer,
      // 403 (counted) to anyone else, as for any other request.
      Reply(irq, self->handler_->OnRequest(request), nullptr);
      nta_incoming_destroy(irq);
      return 0;
    }
    // RFC 3261 12.1.1: a dialog asked for with a SIPS URI (the
    // Request-URI, else the top Record-Route, else the Contact) gets a SIPS
    // Contact from us.
    const url_t* target = sip->sip_record_route ? sip->sip_record_route->r_url
                          : sip->sip_contact    ? sip->sip_contact->m_url
                                                : nullptr;
    const bool sips = sip->sip_request->rq_url->url_type == url_sips ||
                      (target != nullptr && target->url_type == url_sips);
    std::string contact = self->ContactFor(request.source.local_port,
                                           request.source.transport, sips);
    tport_t* tp =
        self->FindTport(request.source.local_port, request.source.transport);
    self->handler_->OnInvite(
        request, std::make_unique<SofiaServerLeg>(self, irq, sip, contact, tp));
    return 0;
  }
  Reply(irq, self->handler_->OnRequest(request), nullptr);
  nta_incoming_destroy(irq);
  return 0;
}

absl::StatusOr<std::unique_ptr<SofiaSipStack>> SofiaSipStack::Create() {
  auto impl = std::make_unique<Impl>();
  if (absl::Status s = impl->StartThread(); !s.ok()) return s;
  return std::unique_ptr<SofiaSipStack>(new SofiaSipStack(std::move(impl)));
}

SofiaSipStack::SofiaSipStack(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

SofiaSipStack::~SofiaSipStack() { Stop(); }

void SofiaSipStack::Stop() { impl_->StopThread(); }

void SofiaSipStack::RunAndWait(const std::function<void()>& task) {
  absl::Notification done;
  impl_->Post([&] {
    task();
    done.Notify();
  });
  done.WaitForNotification();
}

absl::Status SofiaSipStack::Start(const std::vector<ListenSpec>& listeners,
                                  InviteHandler* handler) {
  absl::Status status;
  RunAndWait([&] { status = impl_->Bind(listeners, handler); });
  return status;
}

absl::Status SofiaSipStack::AddListeners(
    const std::vector<ListenSpec>& listeners) {
  absl::Status status;
  RunAndWait([&] {
    status = impl_->agent_ == nullptr
                 ? absl::FailedPreconditionError("the stack is not started")
                 : impl_->AddTports(listeners);
  });
  return status;
}

std::unique_ptr<ClientLeg> SofiaSipStack::SendInvite(
    const OutgoingInvite& invite, ClientLegObserver* observer) {
  auto leg = std::make_unique<SofiaClientLeg>(impl_.get(), invite, observer);
  if (leg->failed()) {
    TL_LOG(kWarning, "cannot send INVITE")
        .With("request_uri", invite.request_uri)
        .With("next_hop", invite.next_hop_host);
    Post([observer] {
      SipResponse r;
      r.code = 503;
      r.phrase = "Service Unavailable";
      r.local = true;
      observer->OnResponse(r);
    });
  }
  return leg;
}

std::unique_ptr<ClientTransaction> SofiaSipStack::SendRequest(
    const OutgoingRequest& request,
    std::function<void(const SipResponse&)> on_final) {
  auto orq = std::make_unique<SofiaRequest>(impl_.get(), request, on_final);
  if (orq->failed()) {
    return FailedRequest<ClientTransaction>(impl_.get(), std::move(on_final));
  }
  return orq;
}

std::unique_ptr<Timer> SofiaSipStack::StartTimer(absl::Duration delay,
                                                 std::function<void()> fire) {
  return std::make_unique<SofiaTimer>(impl_->root_, delay, std::move(fire));
}

void SofiaSipStack::Post(std::function<void()> task) {
  impl_->Post(std::move(task));
}

void SofiaSipStack::SetTraceTap(
    std::function<void(const SipTraceRecord&)> tap) {
  impl_->trace_tap_ = std::move(tap);
}

void SofiaSipStack::EnableTrace(bool on) { impl_->EnableTrace(on); }

}  // namespace trunkline::signaling
