// DecisionLog: the most recent decisions, kept in memory for the API.
//
// A bounded ring (capacity fixed at construction) of decisions in their JSON form, with
// their event time and class, so GET /v1/decisions can answer "what has been decided
// since T" without reading the decisions file.
//
// Thread-safety: Append (detector thread) and Recent (API threads) take one mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detect/decision.h"

namespace dnsight {

class DecisionLog {
 public:
  explicit DecisionLog(size_t capacity = 10'000) : capacity_(capacity) {}

  void Append(const Decision& d);
  // JSON objects of decisions with ts >= since_ns (and of class `klass` unless empty),
  // oldest first, at most `limit` (the newest ones when more match).
  std::vector<std::string> Recent(int64_t since_ns, std::string_view klass, size_t limit) const;
  // The JSON of the newest kept decision with this id, if it is still in the ring.
  std::optional<std::string> FindJson(std::string_view id) const;
  uint64_t appended() const;

 private:
  struct Entry {
    int64_t ts_ns;
    std::string klass;
    std::string id;
    std::string json;
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Entry> ring_;
  uint64_t appended_ = 0;
};

}  // namespace dnsight
