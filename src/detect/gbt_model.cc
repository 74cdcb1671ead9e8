#include "detect/gbt_model.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>

#include "common/serial.h"
#include "detect/model_file.h"

namespace dnsight {
namespace {

constexpr char kMagic[] = "DNSGB1";
constexpr uint64_t kMaxFeatures = 4096;
constexpr uint64_t kMaxString = 1 << 16;
constexpr uint64_t kMaxModelBytes = uint64_t{1} << 28;
constexpr uint32_t kMaxRounds = 10'000;
constexpr uint32_t kMaxDepth = 16;

// Prediction types of XGBoosterPredictFromDMatrix.
constexpr int kPredictValue = 0;
constexpr int kPredictContributions = 2;

Status XgbError(const char* what) {
  const char* e = XGBGetLastError();
  return Status::Internal(std::string("xgboost: ") + what + ": " + (e != nullptr ? e : "?"));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
bool GetString(SerialReader& in, std::string* s) {
  uint64_t n = 0;
  std::string_view v;
  if (!in.Varint(&n) || n > kMaxString || !in.Bytes(n, &v)) return false;
  s->assign(v);
  return true;
}

// XGBoost reads float32 and rejects infinities; anything not finite as a float is missing.
float ToFeature(double v) {
  const auto f = static_cast<float>(v);
  return std::isfinite(f) ? f : std::numeric_limits<float>::quiet_NaN();
}

// Owns a DMatrix handle for one call.
struct Matrix {
  DMatrixHandle h = nullptr;
  ~Matrix() {
    if (h != nullptr) XGDMatrixFree(h);
  }
};

}  // namespace

// The booster handle and the lock that serializes its use.
struct GbtModel::Booster {
  BoosterHandle h = nullptr;
  std::mutex mu;
  ~Booster() {
    if (h != nullptr) XGBoosterFree(h);
  }
};

GbtModel::GbtModel() : booster_(std::make_unique<Booster>()) {}
GbtModel::GbtModel(GbtModel&&) noexcept = default;
GbtModel& GbtModel::operator=(GbtModel&&) noexcept = default;
GbtModel::~GbtModel() = default;

Result<GbtModel> GbtModel::Train(std::span<const double> rows, std::span<const uint8_t> labels,
                                 const std::vector<std::string>& features,
                                 const GbtOptions& options) {
  const size_t nf = features.size();
  if (nf == 0 || nf > kMaxFeatures) return Status::InvalidArgument("gbt: bad feature count");
  if (rows.size() % nf != 0) return Status::InvalidArgument("gbt: ragged rows");
  const size_t n = rows.size() / nf;
  if (labels.size() != n) return Status::InvalidArgument("gbt: one label per row needed");
  if (options.rounds == 0 || options.rounds > kMaxRounds || options.max_depth == 0 ||
      options.max_depth > kMaxDepth || !(options.eta > 0 && options.eta <= 1) ||
      !(options.scale_pos_weight >= 0))
    return Status::InvalidArgument("gbt: bad options");
  uint64_t pos = 0;
  for (uint8_t l : labels) {
    if (l > 1) return Status::InvalidArgument("gbt: labels must be 0 or 1");
    pos += l;
  }
  if (pos == 0 || pos == n) return Status::InvalidArgument("gbt: need rows of both labels");

  GbtModel m;
  m.features_ = features;
  m.training_rows = n;
  m.positives = pos;
  m.means_.assign(nf, NAN);
  std::vector<float> data(rows.size());
  for (size_t j = 0; j < nf; ++j) {
    double sum = 0;
    uint64_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      const float v = ToFeature(rows[i * nf + j]);
      data[i * nf + j] = v;
      if (std::isnan(v)) continue;
      sum += v;
      ++count;
    }
    if (count > 0) m.means_[j] = sum / static_cast<double>(count);
  }
  std::vector<float> y(labels.begin(), labels.end());

  Matrix dtrain;
  if (XGDMatrixCreateFromMat(data.data(), n, nf, std::numeric_limits<float>::quiet_NaN(),
                             &dtrain.h) != 0)
    return XgbError("training matrix");
  if (XGDMatrixSetFloatInfo(dtrain.h, "label", y.data(), n) != 0) return XgbError("labels");
  BoosterHandle& b = m.booster_->h;
  if (XGBoosterCreate(&dtrain.h, 1, &b) != 0) return XgbError("create booster");
  const double spw = options.scale_pos_weight > 0
                         ? options.scale_pos_weight
                         : static_cast<double>(n - pos) / static_cast<double>(pos);
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"max_depth", std::to_string(options.max_depth)},
      {"eta", std::to_string(options.eta)},
      {"seed", std::to_string(options.seed % (uint64_t{1} << 31))},
      {"scale_pos_weight", std::to_string(spw)},
      {"nthread", "1"},  // deterministic, and the same thread count prediction uses
      {"verbosity", "0"},
  };
  for (const auto& [k, v] : params)
    if (XGBoosterSetParam(b, k, v.c_str()) != 0) return XgbError(k);
  for (uint32_t round = 0; round < options.rounds; ++round)
    if (XGBoosterUpdateOneIter(b, static_cast<int>(round), dtrain.h) != 0)
      return XgbError("training round");
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(b, R"({"format": "json"})", &len, &buf) != 0)
    return XgbError("save model");
  m.model_bytes_.assign(buf, len);
  return m;
}

Result<std::vector<double>> GbtModel::Run(std::span<const double> x, int type) const {
  if (x.size() != features_.size())
    return Status::InvalidArgument("gbt: expected " + std::to_string(features_.size()) +
                                   " features, got " + std::to_string(x.size()));
  std::vector<float> row(x.size());
  for (size_t i = 0; i < x.size(); ++i) row[i] = ToFeature(x[i]);
  const std::string config = R"({"type": )" + std::to_string(type) +
                             R"(, "training": false, "iteration_begin": 0, )"
                             R"("iteration_end": 0, "strict_shape": false})";
  std::lock_guard lock(booster_->mu);
  Matrix dm;
  if (XGDMatrixCreateFromMat(row.data(), 1, row.size(), std::numeric_limits<float>::quiet_NaN(),
                             &dm.h) != 0)
    return XgbError("input matrix");
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (XGBoosterPredictFromDMatrix(booster_->h, dm.h, config.c_str(), &shape, &dim, &out) != 0)
    return XgbError("predict");
  bst_ulong total = 1;
  for (bst_ulong d = 0; d < dim; ++d) total *= shape[d];
  const size_t want = type == kPredictContributions ? x.size() + 1 : 1;
  if (total != want)
    return Status::Internal("xgboost: unexpected prediction shape (" + std::to_string(total) +
                            " values, expected " + std::to_string(want) + ")");
  return std::vector<double>(out, out + total);
}

Result<double> GbtModel::Predict(std::span<const double> x) const {
  auto r = Run(x, kPredictValue);
  if (!r.ok()) return r.status();
  return r->front();
}

Result<GbtContributions> GbtModel::Contributions(std::span<const double> x) const {
  auto r = Run(x, kPredictContributions);
  if (!r.ok()) return r.status();
  GbtContributions c;
  c.bias = r->back();
  r->pop_back();
  c.values = std::move(r.value());
  return c;
}

std::string GbtModel::Serialize() const {
  std::string out(kMagic, sizeof kMagic - 1);
  PutString(&out, view);
  PutString(&out, view_version);
  PutString(&out, klass);
  PutString(&out, label_source);
  PutString(&out, trained_range);
  PutVarint(&out, training_rows);
  PutVarint(&out, positives);
  PutVarint(&out, features_.size());
  for (const auto& f : features_) PutString(&out, f);
  for (double m : means_) PutF64(&out, m);
  PutVarint(&out, model_bytes_.size());
  out.append(model_bytes_);
  SealModelFile(&out);
  return out;
}

std::string GbtModel::version() const {
  return ModelVersion(Serialize());
}

Result<GbtModel> GbtModel::Parse(std::string_view bytes) {
  const auto bad = [](const std::string& why) {
    return Status::InvalidArgument("gbt model: " + why);
  };
  auto body = OpenModelFile(bytes, std::string_view(kMagic, sizeof kMagic - 1), "gbt model");
  if (!body.ok()) return body.status();
  SerialReader in{*body};
  GbtModel m;
  uint64_t nf = 0, model_len = 0;
  if (!GetString(in, &m.view) || !GetString(in, &m.view_version) || !GetString(in, &m.klass) ||
      !GetString(in, &m.label_source) || !GetString(in, &m.trained_range) ||
      !in.Varint(&m.training_rows) || !in.Varint(&m.positives) || m.positives > m.training_rows ||
      !in.Varint(&nf) || nf == 0 || nf > kMaxFeatures)
    return bad("bad header");
  m.features_.resize(nf);
  for (auto& name : m.features_)
    if (!GetString(in, &name) || name.empty()) return bad("bad feature name");
  m.means_.resize(nf);
  for (auto& v : m.means_)
    if (!in.F64(&v)) return bad("bad means");
  std::string_view model;
  if (!in.Varint(&model_len) || model_len == 0 || model_len > kMaxModelBytes ||
      !in.Bytes(model_len, &model))
    return bad("bad model bytes");
  if (!in.in.empty()) return bad("trailing bytes");
  m.model_bytes_.assign(model);

  BoosterHandle& b = m.booster_->h;
  if (XGBoosterCreate(nullptr, 0, &b) != 0) return XgbError("create booster");
  if (XGBoosterLoadModelFromBuffer(b, m.model_bytes_.data(), m.model_bytes_.size()) != 0)
    return bad(XgbError("load").message());
  bst_ulong model_features = 0;
  if (XGBoosterGetNumFeature(b, &model_features) != 0) return XgbError("feature count");
  if (model_features != nf)
    return bad("booster reads " + std::to_string(model_features) + " features, file names " +
               std::to_string(nf));
  if (XGBoosterSetParam(b, "nthread", "1") != 0 || XGBoosterSetParam(b, "verbosity", "0") != 0)
    return XgbError("predict params");
  return m;
}

Status GbtModel::Save(const std::string& path) const {
  return WriteModelFile(path, Serialize());
}

Result<GbtModel> GbtModel::Load(const std::string& path) {
  auto bytes = ReadModelFile(path);
  if (!bytes.ok()) return bytes.status();
  auto m = Parse(*bytes);
  if (!m.ok()) return Status::InvalidArgument(path + ": " + m.status().message());
  return m;
}

}  // namespace dnsight
