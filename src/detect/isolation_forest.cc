#include "detect/isolation_forest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "common/serial.h"
#include "detect/model_file.h"

namespace dnsight {
namespace {

constexpr char kMagic[] = "DNSIF1";
constexpr uint32_t kMaxTrees = 10'000;
constexpr uint32_t kMaxNodes = 1 << 20;
constexpr uint32_t kMaxFeatures = 4096;
constexpr uint64_t kMaxString = 1 << 16;

// Average path length of an unsuccessful search in a BST of n nodes.
double C(double n) {
  if (n <= 1) return 0;
  if (n == 2) return 1;
  return 2.0 * (std::log(n - 1) + 0.5772156649015329) - 2.0 * (n - 1) / n;
}

// splitmix64: small, seeded, reproducible across platforms.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  uint64_t Below(uint64_t n) { return Next() % n; }
};

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

}  // namespace

Result<IsolationForest> IsolationForest::Train(std::span<const double> rows,
                                               const std::vector<std::string>& features,
                                               const IsolationForestOptions& options) {
  const size_t nf = features.size();
  if (nf == 0 || nf > kMaxFeatures)
    return Status::InvalidArgument("isolation forest: bad feature count");
  if (rows.size() % nf != 0) return Status::InvalidArgument("isolation forest: ragged rows");
  const size_t n = rows.size() / nf;
  if (n < 2) return Status::InvalidArgument("isolation forest: need at least 2 training rows");
  if (options.trees == 0 || options.trees > kMaxTrees || options.sample_size < 2)
    return Status::InvalidArgument("isolation forest: bad options");
  IsolationForest f;
  f.features_ = features;
  f.sample_size_ = static_cast<uint32_t>(std::min<size_t>(options.sample_size, n));
  f.training_rows = n;
  const int max_depth = static_cast<int>(std::ceil(std::log2(f.sample_size_)));
  f.medians_.assign(nf, NAN);
  {
    std::vector<double> col;
    for (size_t j = 0; j < nf; ++j) {
      col.clear();
      for (size_t i = 0; i < n; ++i)
        if (!std::isnan(rows[i * nf + j])) col.push_back(rows[i * nf + j]);
      if (col.empty()) continue;
      std::nth_element(col.begin(), col.begin() + static_cast<ptrdiff_t>(col.size() / 2),
                       col.end());
      f.medians_[j] = col[col.size() / 2];
    }
  }
  Rng rng{options.seed};
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  for (uint32_t t = 0; t < options.trees; ++t) {
    // Partial Fisher-Yates: the first sample_size entries are the sample.
    for (uint32_t i = 0; i < f.sample_size_; ++i) std::swap(all[i], all[i + rng.Below(n - i)]);
    std::vector<uint32_t> idx(all.begin(), all.begin() + f.sample_size_);
    std::vector<Node> tree;
    struct Work {
      uint32_t node, begin, end;
      int depth;
    };
    tree.push_back({});
    std::vector<Work> stack{{0, 0, static_cast<uint32_t>(idx.size()), 0}};
    while (!stack.empty()) {
      const Work w = stack.back();
      stack.pop_back();
      const uint32_t count = w.end - w.begin;
      bool split = false;
      if (count > 1 && w.depth < max_depth) {
        // Try a few features for one with a range (constant features cannot split).
        for (int attempt = 0; attempt < 8 && !split; ++attempt) {
          const auto feat = static_cast<uint32_t>(rng.Below(nf));
          double lo = INFINITY, hi = -INFINITY;
          for (uint32_t i = w.begin; i < w.end; ++i) {
            const double v = rows[size_t{idx[i]} * nf + feat];
            if (std::isnan(v)) continue;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          if (!(hi > lo)) continue;
          const double s = lo + rng.Uniform() * (hi - lo);
          // Partition: value < s (and NaN, by majority below) to the left.
          uint32_t mid = w.begin, nan_count = 0;
          for (uint32_t i = w.begin; i < w.end; ++i) {
            const double v = rows[size_t{idx[i]} * nf + feat];
            if (std::isnan(v))
              ++nan_count;
            else if (v < s)
              std::swap(idx[i], idx[mid++]);
          }
          const bool nan_left = (mid - w.begin) >= (w.end - mid - nan_count);
          if (nan_left) {
            for (uint32_t i = mid; i < w.end; ++i)
              if (std::isnan(rows[size_t{idx[i]} * nf + feat])) std::swap(idx[i], idx[mid++]);
          }
          if (mid == w.begin || mid == w.end) continue;
          const auto left = static_cast<uint32_t>(tree.size());
          tree.push_back({});
          tree.push_back({});
          Node& node = tree[w.node];
          node.feature = static_cast<int32_t>(feat);
          node.split = s;
          node.left = left;
          node.right = left + 1;
          node.nan_left = nan_left;
          node.lo = lo;
          node.hi = hi;
          stack.push_back({left, w.begin, mid, w.depth + 1});
          stack.push_back({left + 1, mid, w.end, w.depth + 1});
          split = true;
        }
      }
      if (!split) tree[w.node].size = count;
    }
    f.trees_.push_back(std::move(tree));
  }
  return f;
}

double IsolationForest::PathLength(const std::vector<Node>& tree, std::span<const double> x,
                                   std::vector<double>* credit) const {
  uint32_t i = 0;
  int depth = 0;
  double reach = 1.0;     // probability the walk is still going
  double expected = 0.0;  // path length accumulated from walks that ended above
  while (tree[i].feature >= 0) {
    const Node& n = tree[i];
    const auto f = static_cast<size_t>(n.feature);
    const double v = x[f];
    ++depth;
    if (credit) (*credit)[f] += reach / depth;
    if (!std::isnan(v) && (v < n.lo || v > n.hi)) {
      const double d = v < n.lo ? n.lo - v : v - n.hi;
      const double p = d / (n.hi - n.lo + d);
      expected += reach * p * depth;
      if (credit) (*credit)[f] += reach * p;
      reach *= 1 - p;
    }
    i = std::isnan(v) ? (n.nan_left ? n.left : n.right) : (v < n.split ? n.left : n.right);
  }
  return expected + reach * (depth + C(tree[i].size));
}

double IsolationForest::Score(std::span<const double> x) const {
  double total = 0;
  for (const auto& t : trees_) total += PathLength(t, x, nullptr);
  const double mean = total / static_cast<double>(trees_.size());
  return std::pow(2.0, -mean / C(sample_size_));
}

std::vector<double> IsolationForest::Explain(std::span<const double> x) const {
  std::vector<double> credit(features_.size(), 0.0);
  for (const auto& t : trees_) PathLength(t, x, &credit);
  const double sum = std::accumulate(credit.begin(), credit.end(), 0.0);
  if (sum > 0)
    for (auto& c : credit) c /= sum;
  return credit;
}

std::string IsolationForest::Serialize() const {
  std::string out(kMagic, sizeof kMagic - 1);
  PutString(&out, view);
  PutString(&out, view_version);
  PutString(&out, trained_range);
  PutVarint(&out, training_rows);
  PutVarint(&out, sample_size_);
  PutVarint(&out, features_.size());
  for (const auto& f : features_) PutString(&out, f);
  for (double m : medians_) PutF64(&out, m);
  PutVarint(&out, trees_.size());
  for (const auto& t : trees_) {
    PutVarint(&out, t.size());
    for (const Node& n : t) {
      PutVarint(&out, static_cast<uint64_t>(n.feature + 1));
      if (n.feature >= 0) {
        PutF64(&out, n.split);
        PutF64(&out, n.lo);
        PutF64(&out, n.hi);
        PutVarint(&out, n.left);
        PutVarint(&out, n.right);
        out.push_back(n.nan_left ? 1 : 0);
      } else {
        PutVarint(&out, n.size);
      }
    }
  }
  SealModelFile(&out);
  return out;
}

std::string IsolationForest::version() const {
  return ModelVersion(Serialize());
}

Result<IsolationForest> IsolationForest::Parse(std::string_view bytes) {
  const auto bad = [](const char* why) {
    return Status::InvalidArgument(std::string("isolation forest model: ") + why);
  };
  auto body =
      OpenModelFile(bytes, std::string_view(kMagic, sizeof kMagic - 1), "isolation forest model");
  if (!body.ok()) return body.status();
  SerialReader in{*body};
  IsolationForest f;
  uint64_t sample = 0, nf = 0, nt = 0;
  if (!GetString(in, &f.view) || !GetString(in, &f.view_version) ||
      !GetString(in, &f.trained_range) || !in.Varint(&f.training_rows) || !in.Varint(&sample) ||
      sample < 2 || sample > (1u << 24) || !in.Varint(&nf) || nf == 0 || nf > kMaxFeatures)
    return bad("bad header");
  f.sample_size_ = static_cast<uint32_t>(sample);
  f.features_.resize(nf);
  for (auto& name : f.features_)
    if (!GetString(in, &name)) return bad("bad feature name");
  f.medians_.resize(nf);
  for (auto& m : f.medians_)
    if (!in.F64(&m)) return bad("bad medians");
  if (!in.Varint(&nt) || nt == 0 || nt > kMaxTrees) return bad("bad tree count");
  for (uint64_t t = 0; t < nt; ++t) {
    uint64_t nodes = 0;
    if (!in.Varint(&nodes) || nodes == 0 || nodes > kMaxNodes) return bad("bad node count");
    std::vector<Node> tree(nodes);
    for (uint64_t i = 0; i < nodes; ++i) {
      uint64_t feat = 0;
      if (!in.Varint(&feat) || feat > nf) return bad("bad node");
      Node& n = tree[i];
      n.feature = static_cast<int32_t>(feat) - 1;
      if (n.feature >= 0) {
        uint64_t l = 0, r = 0;
        uint8_t nan_left = 0;
        // Children must come after their parent: no cycles, and every walk ends.
        if (!in.F64(&n.split) || !in.F64(&n.lo) || !in.F64(&n.hi) || !in.Varint(&l) ||
            !in.Varint(&r) || !in.U8(&nan_left) || l <= i || r <= i || l >= nodes || r >= nodes ||
            nan_left > 1 || !std::isfinite(n.split) || !std::isfinite(n.lo) ||
            !std::isfinite(n.hi) || !(n.lo < n.hi))
          return bad("bad split node");
        n.left = static_cast<uint32_t>(l);
        n.right = static_cast<uint32_t>(r);
        n.nan_left = nan_left == 1;
      } else {
        uint64_t size = 0;
        if (!in.Varint(&size) || size > sample) return bad("bad leaf");
        n.size = static_cast<uint32_t>(size);
      }
    }
    f.trees_.push_back(std::move(tree));
  }
  if (!in.in.empty()) return bad("trailing bytes");
  return f;
}

Status IsolationForest::Save(const std::string& path) const {
  return WriteModelFile(path, Serialize());
}

Result<IsolationForest> IsolationForest::Load(const std::string& path) {
  auto bytes = ReadModelFile(path);
  if (!bytes.ok()) return bytes.status();
  auto f = Parse(*bytes);
  if (!f.ok()) return Status::InvalidArgument(path + ": " + f.status().message());
  return f;
}

}  // namespace dnsight
