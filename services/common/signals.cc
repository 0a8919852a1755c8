#include "services/common/signals.h"

#include <signal.h>

#include <cerrno>

#include "services/common/log.h"

namespace trunkline {
namespace {

sigset_t ServiceSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockServiceSignals() {
  sigset_t set = ServiceSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer that vanishes mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

SignalThread::SignalThread(Handlers handlers)
    : handlers_(std::move(handlers)), thread_([this] { Run(); }) {}

SignalThread::~SignalThread() {
  exit_ = true;
  thread_.join();
}

void SignalThread::Run() {
  const sigset_t set = ServiceSignalSet();
  bool draining = false;
  while (!exit_) {
    // A bounded wait so the destructor can end the thread without a signal.
    timespec timeout = {0, 200'000'000L};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig < 0) continue;  // EAGAIN (timeout) or EINTR
    switch (sig) {
      case SIGHUP:
        TL_LOG(kInfo, "SIGHUP: reloading the topology");
        if (handlers_.reload) handlers_.reload();
        break;
      case SIGTERM:
        if (draining) {
          TL_LOG(kWarning, "second SIGTERM: stopping now");
          if (handlers_.stop) handlers_.stop();
        } else {
          draining = true;
          TL_LOG(kInfo, "SIGTERM: draining");
          if (handlers_.drain) handlers_.drain();
        }
        break;
      case SIGINT:
        TL_LOG(kInfo, "SIGINT: stopping");
        if (handlers_.stop) handlers_.stop();
        break;
    }
  }
}

}  // namespace trunkline
