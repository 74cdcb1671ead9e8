// TunnelScorer: how much one registered domain's traffic looks like DNS tunnelling.
//
// Fed from the registered-domain view's feature vector for one window. Tunnels encode
// data in query names, so each query carries a fresh, long, high-entropy subdomain;
// replies ride in TXT or NULL records; one client drives a steady stream; and bytes per
// query are high. The score combines, for one window suffix (e.g. "5m"):
//
//   novelty     unique_subdomains / queries          (≈ 1 for a tunnel)
//   length      subdomain_length_mean                (tunnels: 30-60+ characters)
//   entropy     label_entropy_mean                   (bits per character)
//   txt_null    txt_ratio + null_ratio
//   per_client  queries / unique_clients
//   bytes       response_size_mean + query_size_mean (when the view has it)
//
// into a logistic score in [0, 1], with each term's share of the logit reported as its
// contribution, so a decision can say why. Windows with fewer than `min_queries` queries
// score 0 (too little evidence). Weights are hand-set and documented in
// src/detect/README.md; tests check them on real tunnelling captures (iodine, dnscat2,
// dns2tcp, DNSExfiltrator, sods) and on ordinary traffic.
//
// Thread-safety: immutable after Bind; Score is const and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "detect/decision.h"
#include "dnsight/status.h"

namespace dnsight {

struct TunnelScore {
  double score = 0;
  std::vector<FeatureContribution> terms;  // largest contribution first
};

class TunnelScorer {
 public:
  // Finds the input features of window `window` (e.g. "5m") among a view's feature names.
  // NotFound naming the first missing feature. query_size_mean is optional.
  Status Bind(const std::vector<std::string>& feature_names, const std::string& window);
  TunnelScore Score(const std::vector<double>& values) const;

  // The alert threshold the default detection config uses. dnscat2's 12-query capture
  // scores 0.79; ordinary traffic stays below 0.01.
  static constexpr double kDefaultThreshold = 0.7;
  double min_queries = 5;

 private:
  int queries_ = -1, unique_subdomains_ = -1, unique_clients_ = -1, subdomain_length_ = -1,
      entropy_ = -1, txt_ = -1, null_ = -1, response_size_ = -1, query_size_ = -1;
  std::vector<std::string> names_;
};

}  // namespace dnsight
