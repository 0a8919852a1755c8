// SignalingAdmin (admin.proto): calls and trunks for operators, Explain
// passed through to routing.
//
// Handlers run on gRPC's threads and never touch call or trunk state: each
// checks credentials, posts a closure to the SIP loop (which owns that
// state) and returns its reactor; the closure reads or changes the state and
// finishes the reactor from the loop. GetCall of an anchored call asks the
// media instance on the way (MediaController::Query, asynchronous, a short
// deadline) and finishes when its answer is back on the loop. Explain goes
// straight to routing on gRPC's async client API and finishes from its
// completion.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SIGNALING_ADMIN_SERVICE_H_
#define TRUNKLINE_SERVICES_SIGNALING_SIGNALING_ADMIN_SERVICE_H_

#include <memory>
#include <string>

#include "services/common/admin_auth.h"
#include "services/signaling/b2bua.h"
#include "services/signaling/gateway_monitor.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/sip_stack.h"
#include "services/signaling/sip_trace.h"
#include "services/signaling/trunk_registrar.h"
#include "trunkline/v1/admin.grpc.pb.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline::signaling {

class SignalingAdminService final : public v1::SignalingAdmin::CallbackService {
 public:
  // `b2bua`, `monitor`, `trace` and `media` are used on `stack`'s loop
  // only; `routing` may be null (Explain then fails UNAVAILABLE), and so
  // may `trace` (Trace then fails UNAVAILABLE) and `media` (GetCall then
  // shows no media streams).
  SignalingAdminService(const AdminAuth* auth, SipStack* stack, B2bua* b2bua,
                        GatewayMonitor* monitor,
                        std::shared_ptr<v1::Routing::StubInterface> routing,
                        SipTraceHub* trace = nullptr,
                        MediaController* media = nullptr,
                        const TrunkRegistrar* registrar = nullptr);

  grpc::ServerUnaryReactor* ListCalls(grpc::CallbackServerContext* context,
                                      const v1::ListCallsRequest* request,
                                      v1::ListCallsResponse* response) override;
  grpc::ServerUnaryReactor* GetCall(grpc::CallbackServerContext* context,
                                    const v1::GetCallRequest* request,
                                    v1::CallDetail* response) override;
  grpc::ServerUnaryReactor* HangupCall(
      grpc::CallbackServerContext* context,
      const v1::HangupCallRequest* request,
      v1::HangupCallResponse* response) override;
  grpc::ServerUnaryReactor* ListTrunks(
      grpc::CallbackServerContext* context,
      const v1::ListTrunksRequest* request,
      v1::ListTrunksResponse* response) override;
  grpc::ServerUnaryReactor* GetTrunk(grpc::CallbackServerContext* context,
                                     const v1::GetTrunkRequest* request,
                                     v1::TrunkStatus* response) override;
  grpc::ServerUnaryReactor* SetTrunkEnabled(
      grpc::CallbackServerContext* context,
      const v1::SetTrunkEnabledRequest* request,
      v1::TrunkStatus* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const v1::RouteRequest* request,
                                    v1::RouteExplanation* response) override;

  // One stream per subscriber, fed from a bounded queue (TraceQueue).
  grpc::ServerWriteReactor<v1::TraceEvent>* Trace(
      grpc::CallbackServerContext* context,
      const v1::TraceRequest* request) override;

  // Events a Trace stream holds for a slow client before dropping the
  // oldest.
  static constexpr size_t kTraceQueueCapacity = 1024;

  // A trunk as the API shows it (loop thread).
  static v1::TrunkStatus ToStatus(const GatewayMonitor::TrunkState& state,
                                  const B2bua& b2bua,
                                  const TrunkRegistrar* registrar = nullptr);

 private:
  // Checks credentials, then runs `work` on the loop, which returns the
  // status the reactor finishes with.
  grpc::ServerUnaryReactor* OnLoop(grpc::CallbackServerContext* context,
                                   const char* method,
                                   std::function<grpc::Status()> work);

  const AdminAuth* auth_;
  SipStack* stack_;
  B2bua* b2bua_;
  GatewayMonitor* monitor_;
  std::shared_ptr<v1::Routing::StubInterface> routing_;
  SipTraceHub* trace_;
  MediaController* media_;
  const TrunkRegistrar* registrar_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SIGNALING_ADMIN_SERVICE_H_
