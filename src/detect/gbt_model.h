// GbtModel: a gradient-boosted tree classifier (XGBoost, binary:logistic) for one incident
// class over one view's feature vectors.
//
// Train fits `rounds` trees on labelled rows (1 = the class, 0 = normal; NaN = missing,
// which XGBoost routes down each split's learnt default branch). Predict returns the
// probability of the class; Contributions returns exact per-feature SHAP values (TreeSHAP,
// in log-odds) plus the bias, so a decision can say which features pushed it up.
//
// A trained model is a value: Save writes our own versioned, checksummed file (magic,
// metadata, the XGBoost model as JSON bytes, XXH3 trailer); the version is the XXH3 of
// those file bytes and is what decisions report. Parse checks the magic, checksum and
// every bound before XGBoost sees the model bytes, and turns every XGBoost error into a
// Status, since model files are input like any other.
//
// Thread-safety: XGBoost 1.7 boosters are not safe for concurrent prediction (the
// learner keeps a per-booster prediction cache and thread-local buffers), so Predict and
// Contributions serialize on an internal mutex; they may be called from any thread, but
// calls do not run in parallel. Prediction uses one XGBoost thread (scoring runs on the
// pipeline's single writer thread). Metadata fields are plain values: set them before
// sharing the model. Movable, not copyable (it owns the booster handle).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

struct GbtOptions {
  uint32_t rounds = 100;  // boosting rounds (trees); cost is linear in rounds
  uint32_t max_depth = 4;
  double eta = 0.3;  // learning rate
  uint64_t seed = 1;
  // Weight of a positive row; 0 = negatives / positives from the training labels, so a
  // rare class is not ignored.
  double scale_pos_weight = 0;
};

struct GbtContributions {
  std::vector<double> values;  // per feature, log-odds; sum + bias = logit(probability)
  double bias = 0;
};

class GbtModel {
 public:
  GbtModel(GbtModel&&) noexcept;
  GbtModel& operator=(GbtModel&&) noexcept;
  GbtModel(const GbtModel&) = delete;
  GbtModel& operator=(const GbtModel&) = delete;
  ~GbtModel();

  // rows: row-major, n × features.size(); labels: n values, each 0 or 1. NaN values are
  // missing. Needs at least one row of each label.
  static Result<GbtModel> Train(std::span<const double> rows, std::span<const uint8_t> labels,
                                const std::vector<std::string>& features,
                                const GbtOptions& options);
  static Result<GbtModel> Load(const std::string& path);
  // bytes need only live for the call.
  static Result<GbtModel> Parse(std::string_view bytes);
  Status Save(const std::string& path) const;
  std::string Serialize() const;

  // REQUIRES: x.size() == features().size().
  Result<double> Predict(std::span<const double> x) const;
  Result<GbtContributions> Contributions(std::span<const double> x) const;

  const std::vector<std::string>& features() const { return features_; }
  // Mean of each feature over the training rows (NaN skipped; NaN when all were): the
  // "baseline" a decision reports.
  const std::vector<double>& means() const { return means_; }
  // XXH3 of the serialized file (metadata included).
  std::string version() const;

  // Metadata carried in the file: what the model detects and where its data came from.
  std::string view, view_version, klass, label_source, trained_range;
  uint64_t training_rows = 0;
  uint64_t positives = 0;

 private:
  struct Booster;
  GbtModel();
  Result<std::vector<double>> Run(std::span<const double> x, int type) const;

  std::vector<std::string> features_;
  std::vector<double> means_;
  std::string model_bytes_;  // XGBoost JSON model, exactly as saved
  std::unique_ptr<Booster> booster_;
};

}  // namespace dnsight
