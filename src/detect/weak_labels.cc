#include "detect/weak_labels.h"

#include <utility>

namespace dnsight {

WeakLabeler::WeakLabeler(const std::vector<EvalIncident>& incidents, std::string klass,
                         const WeakLabelOptions& options)
    : klass_(std::move(klass)), options_(options) {
  for (const EvalIncident& inc : incidents) {
    const bool benign = inc.benign || inc.klass == "maintenance";
    const Span s{inc.start_ns, inc.end_ns, !benign && inc.klass == klass_, benign};
    if (inc.scope_kind == "global") {
      global_.push_back({s.start_ns, s.end_ns, false, s.benign});
    } else if (inc.scope_kind != "region") {
      by_entity_[inc.scope_value].push_back(s);
    }
  }
}

WeakLabel WeakLabeler::Label(std::string_view entity, int64_t t) const {
  bool benign = false, near = false;
  const auto visit = [&](const std::vector<Span>& spans) {
    for (const Span& s : spans) {
      const bool inside = t >= s.start_ns && t <= s.end_ns;
      if (inside && s.target) return true;
      if (inside && s.benign) benign = true;
      if (t >= s.start_ns - options_.quiet_ns && t <= s.end_ns + options_.quiet_ns) near = true;
    }
    return false;
  };
  const auto it = by_entity_.find(std::string(entity));
  if (it != by_entity_.end() && visit(it->second)) return WeakLabel::kPositive;
  visit(global_);
  if (benign || !near) return WeakLabel::kNegative;
  return WeakLabel::kUnlabelled;
}

}  // namespace dnsight
