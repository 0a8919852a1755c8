// Keeps a service's topology current: loads it at start, reloads it on
// request (SIGHUP, the admin API) and when the file changes, and refuses a
// bad file with all its errors while the last good topology stays in use.
//
// The service sees each new topology through its `Apply` callback (which
// builds and swaps its own immutable snapshot) and may refuse it too.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_TOPOLOGY_WATCHER_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_TOPOLOGY_WATCHER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/common/topology/loader.h"

namespace trunkline {

struct ReloadOutcome {
  bool applied = false;
  std::string version;              // in use after the attempt
  std::vector<std::string> errors;  // why the file was refused
};

class TopologyWatcher {
 public:
  using Apply =
      std::function<absl::Status(std::shared_ptr<const LoadedTopology>)>;

  // Loads `path` and applies it; fails with every error when the file is not
  // a valid topology. `service` names the metrics
  // (trunkline_<service>_topology_*).
  static absl::StatusOr<std::unique_ptr<TopologyWatcher>> Create(
      const std::string& path, Apply apply, prometheus::Registry* registry,
      const std::string& service);
  ~TopologyWatcher();

  // Re-reads the file now. Thread-safe; reloads are serialized.
  ReloadOutcome Reload();
  // Polls the file every `interval` and reloads when it changed.
  void StartWatching(absl::Duration interval);

  std::shared_ptr<const LoadedTopology> current() const;
  std::vector<std::string> last_errors() const;

 private:
  struct FileStamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp& o) const {
      return mtime_ns == o.mtime_ns && size == o.size && inode == o.inode;
    }
  };
  TopologyWatcher(std::string path, Apply apply, prometheus::Registry* registry,
                  const std::string& service);
  FileStamp Stamp() const;
  void SetVersionMetric(const std::string& version);

  const std::string path_;
  const Apply apply_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const LoadedTopology> current_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> last_errors_ ABSL_GUARDED_BY(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(mu_);
  absl::Mutex reload_mu_;  // serializes whole reloads

  prometheus::Counter* reloads_applied_;
  prometheus::Counter* reloads_refused_;
  prometheus::Gauge* last_reload_ok_;
  prometheus::Family<prometheus::Gauge>* info_family_;
  prometheus::Gauge* info_ = nullptr;

  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_TOPOLOGY_WATCHER_H_
