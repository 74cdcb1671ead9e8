// IsolationForest: unsupervised anomaly scores for feature vectors (Liu, Ting, Zhou 2008).
//
// Training builds `trees` random isolation trees, each on `sample_size` rows drawn without
// replacement: a node picks a feature at random and a split uniformly between that
// feature's min and max in the node, until a row is isolated or the depth limit
// ceil(log2(sample_size)) is reached. An anomaly is isolated in fewer splits, so the score
//   s(x) = 2^(-E[h(x)] / c(sample_size))
// is near 1 for anomalies and below 0.5 for ordinary rows (c(n) is the average path length
// of an unsuccessful binary-search-tree lookup, used to normalize and for leaves that hold
// several rows). NaN inputs follow the branch most training rows took.
//
// Values outside the training range: every split node remembers the range [lo, hi] of its
// feature among the rows it split. A value d beyond that range would be cut off by a split
// drawn over the extended range with probability p = d / (hi - lo + d), so the path
// length is the expectation: with probability p the walk ends at this depth, otherwise it
// continues. Far-out values are isolated near the root; values just past the edge barely
// change. (Plain isolation trees give every out-of-range value the same score as the
// training extreme.)
//
// Explanations: each split on the path credits its feature with 1 / depth, weighted by
// the probability the walk reached it, and an out-of-range isolation credits its feature
// with p; the shares say which features made the row stand out.
//
// A trained model is a value: Save writes a versioned, checksummed file (the version is
// the XXH3 of the model bytes and is what decisions report); Load validates every index
// and bound, since model files are input like any other.
//
// Thread-safety: Score and Explain are const and thread-safe after Train or Load.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

struct IsolationForestOptions {
  uint32_t trees = 100;
  uint32_t sample_size = 256;
  uint64_t seed = 1;
};

class IsolationForest {
 public:
  // rows: row-major, n × features.size(). NaN values are allowed (they are skipped when
  // choosing split ranges).
  static Result<IsolationForest> Train(std::span<const double> rows,
                                       const std::vector<std::string>& features,
                                       const IsolationForestOptions& options);
  static Result<IsolationForest> Load(const std::string& path);
  static Result<IsolationForest> Parse(std::string_view bytes);
  Status Save(const std::string& path) const;
  std::string Serialize() const;

  // REQUIRES: x.size() == features().size().
  double Score(std::span<const double> x) const;
  // Per-feature share of the isolation (sums to 1 when any split was taken).
  std::vector<double> Explain(std::span<const double> x) const;

  const std::vector<std::string>& features() const { return features_; }
  // Median of each feature over the training rows: the "baseline" a decision reports.
  const std::vector<double>& medians() const { return medians_; }
  // XXH3 of the serialized model (metadata included).
  std::string version() const;
  // Metadata carried in the file: where the training data came from.
  std::string view, view_version, trained_range;
  uint64_t training_rows = 0;

 private:
  struct Node {
    int32_t feature = -1;  // -1: leaf
    double split = 0;
    uint32_t left = 0, right = 0;
    uint32_t size = 0;  // rows that reached a leaf
    bool nan_left = true;
    double lo = 0, hi = 0;  // range of `feature` among the rows this node split
  };
  double PathLength(const std::vector<Node>& tree, std::span<const double> x,
                    std::vector<double>* credit) const;

  std::vector<std::string> features_;
  std::vector<double> medians_;
  uint32_t sample_size_ = 256;
  std::vector<std::vector<Node>> trees_;
};

}  // namespace dnsight
