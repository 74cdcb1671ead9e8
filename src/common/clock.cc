#include "dnsight/clock.h"

#include <ctime>

namespace dnsight {

int64_t SystemClock::NowNs() const {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace dnsight
