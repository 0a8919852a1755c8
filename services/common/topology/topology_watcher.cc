#include "services/common/topology/topology_watcher.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "services/common/log.h"

namespace trunkline {

TopologyWatcher::TopologyWatcher(std::string path, Apply apply,
                                 prometheus::Registry* registry,
                                 const std::string& service)
    : path_(std::move(path)), apply_(std::move(apply)) {
  auto& reloads =
      prometheus::BuildCounter()
          .Name(absl::StrCat("trunkline_", service, "_topology_reloads_total"))
          .Help("Topology reload attempts by result (applied or refused).")
          .Register(*registry);
  reloads_applied_ = &reloads.Add({{"result", "applied"}});
  reloads_refused_ = &reloads.Add({{"result", "refused"}});
  last_reload_ok_ =
      &prometheus::BuildGauge()
           .Name(absl::StrCat("trunkline_", service,
                              "_topology_last_reload_success"))
           .Help(
               "1 when the last topology reload was applied, 0 when the "
               "file was refused and the previous topology is still in use.")
           .Register(*registry)
           .Add({});
  info_family_ =
      &prometheus::BuildGauge()
           .Name(absl::StrCat("trunkline_", service, "_topology_info"))
           .Help("The topology version in use (value is always 1).")
           .Register(*registry);
}

TopologyWatcher::~TopologyWatcher() {
  stop_.Notify();
  if (poller_.joinable()) poller_.join();
}

absl::StatusOr<std::unique_ptr<TopologyWatcher>> TopologyWatcher::Create(
    const std::string& path, Apply apply, prometheus::Registry* registry,
    const std::string& service) {
  auto watcher = std::unique_ptr<TopologyWatcher>(
      new TopologyWatcher(path, std::move(apply), registry, service));
  FileStamp stamp = watcher->Stamp();
  std::vector<TopologyError> errors;
  std::shared_ptr<const LoadedTopology> loaded =
      LoadTopologyFile(path, &errors);
  if (loaded == nullptr) return ErrorsToStatus(errors);
  absl::Status applied = watcher->apply_(loaded);
  if (!applied.ok()) return applied;
  {
    absl::MutexLock lock(&watcher->mu_);
    watcher->current_ = loaded;
    watcher->stamp_ = stamp;
  }
  watcher->last_reload_ok_->Set(1);
  watcher->SetVersionMetric(loaded->version);
  TL_LOG(kInfo, "topology loaded")
      .With("file", path)
      .With("version", loaded->version);
  return watcher;
}

ReloadOutcome TopologyWatcher::Reload() {
  absl::MutexLock reload_lock(&reload_mu_);
  ReloadOutcome outcome;
  FileStamp stamp = Stamp();
  std::vector<TopologyError> errors;
  std::shared_ptr<const LoadedTopology> loaded =
      LoadTopologyFile(path_, &errors);
  absl::Status applied = loaded ? apply_(loaded) : ErrorsToStatus(errors);
  if (loaded && !applied.ok()) {
    errors.push_back({path_, 0, std::string(applied.message())});
  }
  absl::MutexLock lock(&mu_);
  stamp_ = stamp;  // do not retry an unchanged bad file on every poll
  if (applied.ok()) {
    current_ = loaded;
    last_errors_.clear();
    outcome.applied = true;
    reloads_applied_->Increment();
    last_reload_ok_->Set(1);
    SetVersionMetric(loaded->version);
    TL_LOG(kInfo, "topology reloaded")
        .With("file", path_)
        .With("version", loaded->version);
  } else {
    last_errors_.clear();
    for (const TopologyError& e : errors) last_errors_.push_back(e.ToString());
    outcome.errors = last_errors_;
    reloads_refused_->Increment();
    last_reload_ok_->Set(0);
    for (const std::string& e : last_errors_) {
      TL_LOG(kError, "topology refused; keeping the last good one")
          .With("version_in_use", current_->version)
          .With("error", e);
    }
  }
  outcome.version = current_->version;
  return outcome;
}

void TopologyWatcher::StartWatching(absl::Duration interval) {
  poller_ = std::thread([this, interval] {
    while (!stop_.WaitForNotificationWithTimeout(interval)) {
      FileStamp now = Stamp();
      bool changed;
      {
        absl::MutexLock lock(&mu_);
        changed = !(now == stamp_);
      }
      if (changed && now.size >= 0) Reload();
    }
  });
}

std::shared_ptr<const LoadedTopology> TopologyWatcher::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

std::vector<std::string> TopologyWatcher::last_errors() const {
  absl::MutexLock lock(&mu_);
  return last_errors_;
}

TopologyWatcher::FileStamp TopologyWatcher::Stamp() const {
  struct stat st;
  FileStamp stamp;
  if (::stat(path_.c_str(), &st) != 0) return stamp;
  stamp.mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  stamp.size = st.st_size;
  stamp.inode = st.st_ino;
  return stamp;
}

void TopologyWatcher::SetVersionMetric(const std::string& version) {
  if (info_ != nullptr) info_family_->Remove(info_);
  info_ = &info_family_->Add({{"version", version}});
  info_->Set(1);
}

}  // namespace trunkline
