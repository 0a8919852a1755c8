// Process signals, handled on a thread of their own (never in a signal
// handler): SIGTERM drains, SIGINT stops now, SIGHUP reloads the topology.
//
// Call BlockServiceSignals() first thing in main, before any thread exists,
// so every thread inherits the mask and only the SignalThread sees them.
#ifndef TRUNKLINE_SERVICES_COMMON_SIGNALS_H_
#define TRUNKLINE_SERVICES_COMMON_SIGNALS_H_

#include <atomic>
#include <functional>
#include <thread>

namespace trunkline {

void BlockServiceSignals();

class SignalThread {
 public:
  struct Handlers {
    std::function<void()> reload;  // SIGHUP
    std::function<void()> drain;   // SIGTERM (a second SIGTERM stops)
    std::function<void()> stop;    // SIGINT
  };
  explicit SignalThread(Handlers handlers);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  void Run();

  Handlers handlers_;
  std::atomic<bool> exit_{false};
  std::thread thread_;
};

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_SIGNALS_H_
