#include "dnsight/status.h"

namespace dnsight {

std::string Status::ToString() const {
  switch (code_) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "invalid argument: " + message_;
    case StatusCode::kNotFound:
      return "not found: " + message_;
    case StatusCode::kOutOfRange:
      return "out of range: " + message_;
    case StatusCode::kUnavailable:
      return "unavailable: " + message_;
    case StatusCode::kIoError:
      return "I/O error: " + message_;
    case StatusCode::kInternal:
      return "internal: " + message_;
  }
  return message_;
}

}  // namespace dnsight
