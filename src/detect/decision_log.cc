#include "detect/decision_log.h"

#include <algorithm>

namespace dnsight {

void DecisionLog::Append(const Decision& d) {
  Entry e{d.ts_ns, d.klass, d.id, {}};
  AppendDecisionJson(d, &e.json);
  std::lock_guard lock(mu_);
  ring_.push_back(std::move(e));
  while (ring_.size() > capacity_) ring_.pop_front();
  ++appended_;
}

std::vector<std::string> DecisionLog::Recent(int64_t since_ns, std::string_view klass,
                                             size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto it = ring_.rbegin(); it != ring_.rend() && out.size() < limit; ++it) {
    if (it->ts_ns < since_ns) continue;
    if (!klass.empty() && it->klass != klass) continue;
    out.push_back(it->json);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<std::string> DecisionLog::FindJson(std::string_view id) const {
  std::lock_guard lock(mu_);
  for (auto it = ring_.rbegin(); it != ring_.rend(); ++it)
    if (it->id == id) return it->json;
  return std::nullopt;
}

uint64_t DecisionLog::appended() const {
  std::lock_guard lock(mu_);
  return appended_;
}

}  // namespace dnsight
