// RETURN_IF_ERROR and ASSIGN_OR_RETURN: the packaged Abseil (20220623)
// predates its own versions of these, so Trunkline carries this pair.
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(auto value, MakeValue());
#ifndef TRUNKLINE_SERVICES_COMMON_STATUS_MACROS_H_
#define TRUNKLINE_SERVICES_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TRUNKLINE_CONCAT_INNER(a, b) a##b
#define TRUNKLINE_CONCAT(a, b) TRUNKLINE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status trunkline_status_ = (expr);             \
    if (!trunkline_status_.ok()) return trunkline_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  TRUNKLINE_ASSIGN_OR_RETURN_IMPL(  \
      TRUNKLINE_CONCAT(trunkline_statusor_, __LINE__), lhs, expr)

#define TRUNKLINE_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

#endif  // TRUNKLINE_SERVICES_COMMON_STATUS_MACROS_H_
