#include "detect/tunnel_scorer.h"

#include <algorithm>
#include <cmath>

namespace dnsight {
namespace {

double Finite(double v) {
  return std::isfinite(v) ? v : 0;
}

}  // namespace

Status TunnelScorer::Bind(const std::vector<std::string>& feature_names,
                          const std::string& window) {
  names_ = feature_names;
  const auto find = [&](const std::string& base, bool required, int* out) -> Status {
    const std::string name = base + "_" + window;
    for (size_t i = 0; i < feature_names.size(); ++i) {
      if (feature_names[i] == name) {
        *out = static_cast<int>(i);
        return Status::Ok();
      }
    }
    if (!required) return Status::Ok();
    return Status::NotFound("tunnelling scorer needs feature '" + name + "'");
  };
  struct Input {
    const char* base;
    bool required;
    int* slot;
  };
  const Input inputs[] = {{"queries", true, &queries_},
                          {"unique_subdomains", true, &unique_subdomains_},
                          {"unique_clients", true, &unique_clients_},
                          {"subdomain_length_mean", true, &subdomain_length_},
                          {"label_entropy_mean", true, &entropy_},
                          {"txt_ratio", true, &txt_},
                          {"null_ratio", true, &null_},
                          {"response_size_mean", false, &response_size_},
                          {"query_size_mean", false, &query_size_}};
  for (const Input& in : inputs)
    if (Status s = find(in.base, in.required, in.slot); !s.ok()) return s;
  return Status::Ok();
}

TunnelScore TunnelScorer::Score(const std::vector<double>& v) const {
  TunnelScore out;
  const double queries = Finite(v[queries_]);
  if (queries < min_queries) return out;
  const double novelty = std::clamp(Finite(v[unique_subdomains_]) / queries, 0.0, 1.0);
  const double length = Finite(v[subdomain_length_]);
  const double entropy = Finite(v[entropy_]);
  const double txt_null = Finite(v[txt_]) + Finite(v[null_]);
  const double clients = std::max(1.0, Finite(v[unique_clients_]));
  const double per_client = queries / clients;
  double bytes = response_size_ >= 0 ? Finite(v[response_size_]) : 0;
  if (query_size_ >= 0) bytes += Finite(v[query_size_]);

  // Logit terms; each is 0 for ordinary traffic. A tunnel typically gets +2..+3 from
  // novelty, +3..+4 from length, +1..+2 from entropy and often +2 from TXT/NULL.
  struct Term {
    const char* name;
    double value, baseline, logit;
  };
  const Term terms[] = {
      {"novelty", novelty, 0.3, 3.0 * std::max(0.0, novelty - 0.3)},
      {names_[subdomain_length_].c_str(), length, 8.0,
       std::min(4.0, 0.15 * std::max(0.0, length - 12.0))},
      {names_[entropy_].c_str(), entropy, 2.0, 2.0 * std::max(0.0, entropy - 2.5)},
      {"txt_null_ratio", txt_null, 0.02, 2.5 * std::clamp(txt_null - 0.1, 0.0, 1.0)},
      {"queries_per_client", per_client, 5.0,
       std::min(1.5, 0.5 * std::log2(std::max(1.0, per_client / 5.0)))},
      {"bytes_per_query", bytes, 200.0, std::min(1.0, std::max(0.0, bytes - 400.0) / 400.0)},
  };
  double z = -5.5;
  for (const auto& t : terms) z += t.logit;
  out.score = 1.0 / (1.0 + std::exp(-z));
  double total = 0;
  for (const auto& t : terms) total += t.logit;
  for (const auto& t : terms) {
    if (t.logit <= 0) continue;
    out.terms.push_back({t.name, t.value, t.baseline, total > 0 ? t.logit / total : 0});
  }
  std::sort(out.terms.begin(), out.terms.end(),
            [](const auto& a, const auto& b) { return a.contribution > b.contribution; });
  return out;
}

}  // namespace dnsight
