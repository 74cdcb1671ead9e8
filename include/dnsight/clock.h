// Clock: wall time behind an interface, so logic that needs processing time (idle
// watermark advance) is testable with a manual clock. Event-time logic never reads it.
//
// Thread-safety: NowNs() is thread-safe in both implementations.
#pragma once

#include <atomic>
#include <cstdint>

namespace dnsight {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC nanoseconds.
  virtual int64_t NowNs() const = 0;
};

// CLOCK_REALTIME.
class SystemClock : public Clock {
 public:
  int64_t NowNs() const override;
};

// Returns what it was set to; for tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_ns = 0) : now_(now_ns) {}
  int64_t NowNs() const override { return now_.load(); }
  void Set(int64_t now_ns) { now_.store(now_ns); }
  void Advance(int64_t delta_ns) { now_.fetch_add(delta_ns); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace dnsight
