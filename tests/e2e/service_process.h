// Starts a Trunkline binary as a child process on free loopback ports for a
// test, and stops it (by its PID, only the one it started).
#ifndef TRUNKLINE_TESTS_E2E_SERVICE_PROCESS_H_
#define TRUNKLINE_TESTS_E2E_SERVICE_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace trunkline::testing {

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int FreePort();

// Runs `argv` to completion; returns the exit code and fills `output` with
// stdout and stderr.
int RunCommand(const std::vector<std::string>& argv, std::string* output);

class ServiceProcess {
 public:
  ServiceProcess() = default;
  ~ServiceProcess();
  // Starts `binary` with --topology and fresh --grpc/admin/metrics ports.
  // stderr goes to `log_file`.
  bool Start(const std::string& binary, const std::string& topology,
             const std::string& log_file,
             const std::vector<std::string>& extra_flags = {});
  // Waits until the gRPC and admin ports accept connections (bounded).
  bool WaitReady(int seconds = 10) const;
  void Signal(int sig) const;
  // Waits for exit (bounded); returns the exit code or -1.
  int WaitExit(int seconds = 10);

  std::string grpc_address() const;
  std::string admin_address() const;
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int grpc_port_ = 0, admin_port_ = 0, metrics_port_ = 0;
};

// GET http://127.0.0.1:port/path over a plain socket; returns the body.
std::string HttpGet(int port, const std::string& path);

}  // namespace trunkline::testing

#endif  // TRUNKLINE_TESTS_E2E_SERVICE_PROCESS_H_
