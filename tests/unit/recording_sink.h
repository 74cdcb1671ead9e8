// RecordingSink: an ObservationSink for tests that keeps every observation (with its
// qname copied out, since the view dies with the callback), every malformed reason and
// its sample bytes. Thread-safe, so a source may run on another thread; read the vectors
// after that thread has finished, or under mutex() while it runs.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "dnsight/observation.h"

namespace dnsight::test_support {

struct Seen {
  RawDnsObservation obs;  // obs.qname is cleared; use qname
  std::string qname;
};

class RecordingSink : public ObservationSink {
 public:
  void OnObservation(const RawDnsObservation& obs) override {
    std::lock_guard lock(mu_);
    seen.push_back({obs, std::string(obs.qname)});
    seen.back().obs.qname = {};
  }
  void OnMalformed(std::string_view reason, std::span<const uint8_t> sample) override {
    std::lock_guard lock(mu_);
    malformed.emplace_back(reason);
    samples.emplace_back(reinterpret_cast<const char*>(sample.data()), sample.size());
  }

  std::mutex& mutex() { return mu_; }

  void Clear() {
    std::lock_guard lock(mu_);
    seen.clear();
    malformed.clear();
    samples.clear();
  }

  std::vector<Seen> seen;
  std::vector<std::string> malformed;
  std::vector<std::string> samples;

 private:
  std::mutex mu_;
};

}  // namespace dnsight::test_support
