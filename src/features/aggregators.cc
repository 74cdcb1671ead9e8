// The AggState implementations behind include/dnsight/aggregator.h.
//
// Hot path: Update is one virtual call per (state, batch); inside it the field is
// dispatched once to a loop specialised for that field, so the per-event work is a field
// load, a NaN test and the fold itself, with no virtual calls and no heap allocation
// (categorical keys of numeric fields are formatted into a stack-local std::string that
// stays within its small-string buffer).
//
// Semantics shared by every kind:
//   - Numeric kinds (sum/min/max/mean/variance/quantiles) skip events whose field is
//     absent (NaN); count and ratio count every selected event.
//   - Categorical kinds (distinct/topk/entropy) skip events whose key is empty: an absent
//     value (e.g. no rcode, no client address) or, for kSubdomain, a query for the
//     registered domain itself.
//   - Mean and variance: each Update computes the batch's (n, mean, M2) in two passes and
//     folds it in with Chan et al.'s pairwise formula (the same formula merges states), so
//     there is no division per event and the result matches Welford's.
//
// Serialized form (version 1): u8 version, u8 kind, then the kind's payload:
//   count: varint n              sum: varint n, f64 sum
//   min/max: varint n, f64 v (only when n > 0)
//   mean/variance: varint n, f64 mean, f64 M2 (only when n > 0)
//   ratio: varint matched, varint selected
//   distinct/quantiles/topk/entropy: the sketch's own serialized form.
// f64 is IEEE-754 little-endian. Deserialize rejects any other byte sequence (wrong kind,
// wrong sketch parameters, trailing bytes, inconsistent values) with InvalidArgument and
// leaves the state unchanged.
//
// EventPredicate semantics (see Matches below): an absent numeric value (NaN) matches only
// kNotIn (it is in no set); kGe / kLe use numbers[0] and never match categorical fields;
// `strings` are compared against the CategoryField bytes (decimal text for numeric fields,
// raw 4/16 address bytes for client/server); kPresent means "not NaN" / "not empty".
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <new>
#include <type_traits>

#include "common/serial.h"
#include "dnsight/aggregator.h"
#include "features/categorical_counts.h"
#include "features/ddsketch.h"
#include "features/hyperloglog.h"
#include "features/space_saving.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint8_t kAggFormatVersion = 1;

// ---- Field access, specialised per field ----------------------------------------------

// Must agree with NumericField() in dns_event.cc; aggregators_test checks every field.
template <DnsField F>
struct NumericOf {
  double operator()(const DnsEventBatch& b, const DnsEvent& e) const {
    if constexpr (F == DnsField::kQnameLength) {
      return e.qname_len;
    } else if constexpr (F == DnsField::kLabelCount) {
      return e.label_count;
    } else if constexpr (F == DnsField::kLabelEntropy) {
      return e.label_entropy;
    } else if constexpr (F == DnsField::kLatencyMs) {
      return e.latency_ns < 0 ? kNaN : static_cast<double>(e.latency_ns) / 1e6;
    } else if constexpr (F == DnsField::kTtl) {
      return e.min_ttl < 0 ? kNaN : static_cast<double>(e.min_ttl);
    } else if constexpr (F == DnsField::kResponseSize) {
      return e.rcode < 0 ? kNaN : e.response_size;
    } else if constexpr (F == DnsField::kQuerySize) {
      return e.query_size == 0 ? kNaN : e.query_size;
    } else if constexpr (F == DnsField::kAnswerCount) {
      return e.rcode < 0 ? kNaN : e.answer_count;
    } else if constexpr (F == DnsField::kRcode) {
      return e.rcode < 0 ? kNaN : e.rcode;
    } else if constexpr (F == DnsField::kQtype) {
      return e.qtype;
    } else if constexpr (F == DnsField::kSubdomainLength) {
      return static_cast<double>(b.subdomain(e).size());
    } else if constexpr (F == DnsField::kTransport) {
      return static_cast<double>(e.transport);
    } else {
      return NumericField(b, e, F);
    }
  }
};

struct GenericNumeric {
  DnsField field;
  double operator()(const DnsEventBatch& b, const DnsEvent& e) const {
    return NumericField(b, e, field);
  }
};

// Calls fn(extractor) with an extractor specialised for `f`.
template <typename Fn>
void WithNumeric(DnsField f, Fn&& fn) {
  switch (f) {
#define DNSIGHT_NUMERIC_CASE(F)   \
  case DnsField::F:               \
    fn(NumericOf<DnsField::F>{}); \
    return;
    DNSIGHT_NUMERIC_CASE(kQnameLength)
    DNSIGHT_NUMERIC_CASE(kLabelCount)
    DNSIGHT_NUMERIC_CASE(kLabelEntropy)
    DNSIGHT_NUMERIC_CASE(kLatencyMs)
    DNSIGHT_NUMERIC_CASE(kTtl)
    DNSIGHT_NUMERIC_CASE(kResponseSize)
    DNSIGHT_NUMERIC_CASE(kQuerySize)
    DNSIGHT_NUMERIC_CASE(kAnswerCount)
    DNSIGHT_NUMERIC_CASE(kRcode)
    DNSIGHT_NUMERIC_CASE(kQtype)
    DNSIGHT_NUMERIC_CASE(kSubdomainLength)
    DNSIGHT_NUMERIC_CASE(kTransport)
#undef DNSIGHT_NUMERIC_CASE
    default:
      fn(GenericNumeric{f});
      return;
  }
}

bool IsCategorical(DnsField f) {
  switch (f) {
    case DnsField::kQname:
    case DnsField::kRegisteredDomain:
    case DnsField::kSubdomain:
    case DnsField::kClient:
    case DnsField::kServer:
      return true;
    default:
      return false;
  }
}

// Key of a categorical field (names and addresses live in the batch; no scratch needed).
template <DnsField F>
struct CategoryOf {
  std::string_view operator()(const DnsEventBatch& b, const DnsEvent& e, std::string*) const {
    if constexpr (F == DnsField::kQname) {
      return b.qname(e);
    } else if constexpr (F == DnsField::kRegisteredDomain) {
      return b.registered_domain(e);
    } else if constexpr (F == DnsField::kSubdomain) {
      return b.subdomain(e);
    } else if constexpr (F == DnsField::kClient) {
      return {reinterpret_cast<const char*>(e.client.bytes.data()), e.client.size()};
    } else {
      static_assert(F == DnsField::kServer);
      return {reinterpret_cast<const char*>(e.server.bytes.data()), e.server.size()};
    }
  }
};

struct GenericCategory {
  DnsField field;
  std::string_view operator()(const DnsEventBatch& b, const DnsEvent& e,
                              std::string* scratch) const {
    return CategoryField(b, e, field, scratch);
  }
};

template <typename Fn>
void WithCategory(DnsField f, Fn&& fn) {
  switch (f) {
    case DnsField::kQname:
      fn(CategoryOf<DnsField::kQname>{});
      return;
    case DnsField::kRegisteredDomain:
      fn(CategoryOf<DnsField::kRegisteredDomain>{});
      return;
    case DnsField::kSubdomain:
      fn(CategoryOf<DnsField::kSubdomain>{});
      return;
    case DnsField::kClient:
      fn(CategoryOf<DnsField::kClient>{});
      return;
    case DnsField::kServer:
      fn(CategoryOf<DnsField::kServer>{});
      return;
    default:
      fn(GenericCategory{f});
      return;
  }
}

// Calls add(key) for every selected event with a non-empty key.
template <typename Add>
void ForEachKey(DnsField f, const DnsEventBatch& batch, std::span<const uint32_t> sel, Add&& add) {
  WithCategory(f, [&](auto get) {
    std::string scratch;  // only numeric fields use it; their keys fit the inline buffer
    const DnsEvent* events = batch.events.data();
    for (const uint32_t i : sel) {
      const std::string_view key = get(batch, events[i], &scratch);
      if (!key.empty()) add(key);
    }
  });
}

// Calls add(key, hash) for every selected event with a non-empty key, where hash is
// XXH3_64bits of the key: from the batch's hash column when it has one for f.
// With kReadsKeys (the caller reads the key bytes, not only the hash), the bytes of the key
// a few events ahead are prefetched: names live in the batch arena, away from the event.
// Numeric fields' keys are formatted into a scratch buffer, so there is nothing to fetch.
template <bool kReadsKeys = false, typename Add>
void ForEachKeyHash(DnsField f, const DnsEventBatch& batch, std::span<const uint32_t> sel,
                    Add&& add) {
  constexpr size_t kAhead = 6;
  const uint64_t* hashes = batch.FieldHashes(f);
  WithCategory(f, [&](auto get) {
    std::string scratch;  // only numeric fields use it; their keys fit the inline buffer
    const DnsEvent* events = batch.events.data();
    for (size_t j = 0; j < sel.size(); ++j) {
      if constexpr (kReadsKeys && !std::is_same_v<decltype(get), GenericCategory>) {
        if (j + kAhead < sel.size())
          __builtin_prefetch(get(batch, events[sel[j + kAhead]], &scratch).data());
      }
      const uint32_t i = sel[j];
      const std::string_view key = get(batch, events[i], &scratch);
      if (key.empty()) continue;
      add(key, hashes != nullptr ? hashes[i] : XXH3_64bits(key.data(), key.size()));
    }
  });
}

// ForEachKey with consecutive equal keys coalesced: add(key, n) once per run of n. Pays
// off for low-cardinality fields (an entity's rcodes are mostly NOERROR); for sketches of
// high-cardinality fields the comparison costs more than it saves.
template <typename Add>
void ForEachKeyRun(DnsField f, const DnsEventBatch& batch, std::span<const uint32_t> sel,
                   Add&& add) {
  thread_local std::string prev;  // the run's key (numeric keys live in a scratch buffer)
  uint64_t n = 0;
  ForEachKey(f, batch, sel, [&](std::string_view key) {
    if (n > 0 && key == prev) {
      ++n;
      return;
    }
    if (n > 0) add(std::string_view(prev), n);
    prev.assign(key);
    n = 1;
  });
  if (n > 0) add(std::string_view(prev), n);
}

// ---- Serialization helpers ------------------------------------------------------------

void PutHeader(std::string* out, AggKind kind) {
  out->push_back(static_cast<char>(kAggFormatVersion));
  out->push_back(static_cast<char>(kind));
}

Status ReadHeader(SerialReader* r, AggKind kind) {
  uint8_t version, k;
  if (!r->U8(&version) || !r->U8(&k)) return Status::InvalidArgument("agg: truncated header");
  if (version != kAggFormatVersion) return Status::InvalidArgument("agg: unknown format version");
  if (k != static_cast<uint8_t>(kind)) return Status::InvalidArgument("agg: kind mismatch");
  return Status::Ok();
}

Status Truncated() {
  return Status::InvalidArgument("agg: truncated payload");
}
Status TrailingBytes() {
  return Status::InvalidArgument("agg: trailing bytes");
}

uint64_t SatAdd(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s < a ? std::numeric_limits<uint64_t>::max() : s;
}

// ---- States -----------------------------------------------------------------------------

class CountState final : public AggState {
 public:
  void Update(const DnsEventBatch&, std::span<const uint32_t> sel) override { n_ += sel.size(); }
  void Merge(const AggState& other) override {
    n_ = SatAdd(n_, static_cast<const CountState&>(other).n_);
  }
  void Finalize(std::vector<double>* out) const override {
    out->push_back(static_cast<double>(n_));
  }
  void Serialize(std::string* out) const override {
    PutHeader(out, AggKind::kCount);
    PutVarint(out, n_);
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, AggKind::kCount); !s.ok()) return s;
    uint64_t n;
    if (!r.Varint(&n)) return Truncated();
    if (!r.in.empty()) return TrailingBytes();
    n_ = n;
    return Status::Ok();
  }
  size_t MemoryBytes() const override { return sizeof(*this); }
  bool Empty() const override { return n_ == 0; }
  void Reset() override { n_ = 0; }

 private:
  uint64_t n_ = 0;
};

class SumState final : public AggState {
 public:
  explicit SumState(DnsField field) : field_(field) {}
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    WithNumeric(field_, [&](auto get) {
      const DnsEvent* events = batch.events.data();
      double sum = 0;
      uint64_t n = 0;
      for (const uint32_t i : sel) {
        const double v = get(batch, events[i]);
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
      }
      sum_ += sum;
      n_ += n;
    });
  }
  void Merge(const AggState& other) override {
    const auto& o = static_cast<const SumState&>(other);
    sum_ += o.sum_;
    n_ = SatAdd(n_, o.n_);
  }
  void Finalize(std::vector<double>* out) const override { out->push_back(sum_); }
  void Serialize(std::string* out) const override {
    PutHeader(out, AggKind::kSum);
    PutVarint(out, n_);
    PutF64(out, sum_);
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, AggKind::kSum); !s.ok()) return s;
    uint64_t n;
    double sum;
    if (!r.Varint(&n) || !r.F64(&sum)) return Truncated();
    if (!r.in.empty()) return TrailingBytes();
    if (std::isnan(sum) || (n == 0 && sum != 0)) return Status::InvalidArgument("agg: bad sum");
    n_ = n;
    sum_ = sum;
    return Status::Ok();
  }
  size_t MemoryBytes() const override { return sizeof(*this); }
  bool Empty() const override { return n_ == 0; }
  void Reset() override {
    n_ = 0;
    sum_ = 0;
  }

 private:
  DnsField field_;
  uint64_t n_ = 0;
  double sum_ = 0;
};

template <bool kIsMax>
class ExtremumState final : public AggState {
 public:
  static constexpr AggKind kKind = kIsMax ? AggKind::kMax : AggKind::kMin;
  explicit ExtremumState(DnsField field) : field_(field) {}
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    WithNumeric(field_, [&](auto get) {
      const DnsEvent* events = batch.events.data();
      double best = kIsMax ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
      uint64_t n = 0;
      for (const uint32_t i : sel) {
        const double v = get(batch, events[i]);
        if (std::isnan(v)) continue;
        best = kIsMax ? std::max(best, v) : std::min(best, v);
        ++n;
      }
      Fold(n, best);
    });
  }
  void Merge(const AggState& other) override {
    const auto& o = static_cast<const ExtremumState&>(other);
    Fold(o.n_, o.v_);
  }
  void Finalize(std::vector<double>* out) const override { out->push_back(n_ == 0 ? kNaN : v_); }
  void Serialize(std::string* out) const override {
    PutHeader(out, kKind);
    PutVarint(out, n_);
    if (n_ > 0) PutF64(out, v_);
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, kKind); !s.ok()) return s;
    uint64_t n;
    double v = 0;
    if (!r.Varint(&n)) return Truncated();
    if (n > 0) {
      if (!r.F64(&v)) return Truncated();
      if (std::isnan(v)) return Status::InvalidArgument("agg: bad extremum");
    }
    if (!r.in.empty()) return TrailingBytes();
    n_ = n;
    v_ = v;
    return Status::Ok();
  }
  size_t MemoryBytes() const override { return sizeof(*this); }
  bool Empty() const override { return n_ == 0; }
  void Reset() override {
    n_ = 0;
    v_ = 0;
  }

 private:
  void Fold(uint64_t n, double v) {
    if (n == 0) return;
    v_ = n_ == 0 ? v : (kIsMax ? std::max(v_, v) : std::min(v_, v));
    n_ = SatAdd(n_, n);
  }

  DnsField field_;
  uint64_t n_ = 0;
  double v_ = 0;
};

// Mean and population variance share (n, mean, M2).
class MomentsState final : public AggState {
 public:
  MomentsState(AggKind kind, DnsField field) : kind_(kind), field_(field) {}
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    WithNumeric(field_, [&](auto get) {
      const DnsEvent* events = batch.events.data();
      double sum = 0;
      uint64_t n = 0;
      for (const uint32_t i : sel) {
        const double v = get(batch, events[i]);
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
      }
      if (n == 0) return;
      const double mean = sum / static_cast<double>(n);
      double m2 = 0;
      for (const uint32_t i : sel) {
        const double v = get(batch, events[i]);
        if (std::isnan(v)) continue;
        m2 += (v - mean) * (v - mean);
      }
      Fold(n, mean, m2);
    });
  }
  void Merge(const AggState& other) override {
    const auto& o = static_cast<const MomentsState&>(other);
    Fold(o.n_, o.mean_, o.m2_);
  }
  void Finalize(std::vector<double>* out) const override {
    if (n_ == 0) {
      out->push_back(kNaN);
    } else {
      out->push_back(kind_ == AggKind::kMean ? mean_ : m2_ / static_cast<double>(n_));
    }
  }
  void Serialize(std::string* out) const override {
    PutHeader(out, kind_);
    PutVarint(out, n_);
    if (n_ > 0) {
      PutF64(out, mean_);
      PutF64(out, m2_);
    }
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, kind_); !s.ok()) return s;
    uint64_t n;
    double mean = 0, m2 = 0;
    if (!r.Varint(&n)) return Truncated();
    if (n > 0) {
      if (!r.F64(&mean) || !r.F64(&m2)) return Truncated();
      if (!std::isfinite(mean) || !std::isfinite(m2) || m2 < 0)
        return Status::InvalidArgument("agg: bad moments");
    }
    if (!r.in.empty()) return TrailingBytes();
    n_ = n;
    mean_ = mean;
    m2_ = m2;
    return Status::Ok();
  }
  size_t MemoryBytes() const override { return sizeof(*this); }
  bool Empty() const override { return n_ == 0; }
  void Reset() override {
    n_ = 0;
    mean_ = 0;
    m2_ = 0;
  }

 private:
  // Chan, Golub, LeVeque: combine (n_, mean_, m2_) with (n, mean, m2).
  void Fold(uint64_t n, double mean, double m2) {
    if (n == 0) return;
    if (n_ == 0) {
      n_ = n;
      mean_ = mean;
      m2_ = m2;
      return;
    }
    const uint64_t total = SatAdd(n_, n);
    const double na = static_cast<double>(n_);
    const double nb = static_cast<double>(n);
    const double nt = na + nb;
    const double delta = mean - mean_;
    mean_ += delta * (nb / nt);
    m2_ += m2 + delta * delta * (na * nb / nt);
    n_ = total;
  }

  AggKind kind_;
  DnsField field_;
  uint64_t n_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

class RatioState final : public AggState {
 public:
  explicit RatioState(const AggregationSpec* spec) : spec_(spec) {}
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    den_ += sel.size();
    const auto& preds = spec_->predicate;
    const DnsEvent* events = batch.events.data();
    uint64_t matched = 0;
    if (preds.size() == 1 && preds[0].op == EventPredicate::Op::kIn &&
        preds[0].numbers.size() == 1 && preds[0].strings.empty() &&
        !IsCategorical(preds[0].field)) {
      // The common "field is one value" (rcode NXDOMAIN, qtype TXT): a specialised field
      // load and one comparison per event. NaN (absent) never equals, as in Matches.
      const double want = preds[0].numbers[0];
      WithNumeric(preds[0].field, [&](auto get) {
        for (const uint32_t i : sel) matched += get(batch, events[i]) == want ? 1 : 0;
      });
      num_ += matched;
      return;
    }
    for (const uint32_t i : sel) {
      bool all = true;
      for (const EventPredicate& p : preds) {
        if (!p.Matches(batch, events[i])) {
          all = false;
          break;
        }
      }
      matched += all ? 1 : 0;
    }
    num_ += matched;
  }
  void Merge(const AggState& other) override {
    const auto& o = static_cast<const RatioState&>(other);
    num_ = SatAdd(num_, o.num_);
    den_ = SatAdd(den_, o.den_);
  }
  void Finalize(std::vector<double>* out) const override {
    out->push_back(den_ == 0 ? kNaN : static_cast<double>(num_) / static_cast<double>(den_));
  }
  void Serialize(std::string* out) const override {
    PutHeader(out, AggKind::kRatio);
    PutVarint(out, num_);
    PutVarint(out, den_);
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, AggKind::kRatio); !s.ok()) return s;
    uint64_t num, den;
    if (!r.Varint(&num) || !r.Varint(&den)) return Truncated();
    if (!r.in.empty()) return TrailingBytes();
    if (num > den) return Status::InvalidArgument("agg: ratio numerator above denominator");
    num_ = num;
    den_ = den;
    return Status::Ok();
  }
  size_t MemoryBytes() const override { return sizeof(*this); }
  bool Empty() const override { return den_ == 0; }
  void Reset() override {
    num_ = 0;
    den_ = 0;
  }

 private:
  const AggregationSpec* spec_;
  uint64_t num_ = 0;
  uint64_t den_ = 0;
};

// Sketch-backed kinds share Merge/Serialize/Deserialize/Empty/Reset plumbing.
template <typename Sketch, AggKind kKind>
class SketchState : public AggState {
 public:
  SketchState(const AggregationSpec* spec, Sketch sketch)
      : spec_(spec), sketch_(std::move(sketch)) {}
  void Merge(const AggState& other) override {
    sketch_.Merge(static_cast<const SketchState&>(other).sketch_);
  }
  void Serialize(std::string* out) const override {
    PutHeader(out, kKind);
    sketch_.Serialize(out);
  }
  Status Deserialize(std::string_view bytes) override {
    SerialReader r{bytes};
    if (Status s = ReadHeader(&r, kKind); !s.ok()) return s;
    Sketch fresh = NewSketch();
    std::string_view rest = r.in;
    if (Status s = fresh.Deserialize(&rest); !s.ok()) return s;
    if (!rest.empty()) return TrailingBytes();
    sketch_ = std::move(fresh);
    return Status::Ok();
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) - sizeof(Sketch) + sketch_.MemoryBytes();
  }
  bool Empty() const override { return sketch_.empty(); }
  void Reset() override { sketch_.Clear(); }

 protected:
  // An empty sketch with this spec's parameters (cheap: sketches allocate lazily).
  virtual Sketch NewSketch() const = 0;

  const AggregationSpec* spec_;
  Sketch sketch_;
};

class DistinctState final : public SketchState<HyperLogLog, AggKind::kDistinct> {
 public:
  explicit DistinctState(const AggregationSpec* spec)
      : SketchState(spec, HyperLogLog(spec->hll_precision)) {}
  HyperLogLog NewSketch() const override { return HyperLogLog(spec_->hll_precision); }
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    // HyperLogLog::Hash is XXH3_64bits, the hash of the batch's columns.
    ForEachKeyHash(spec_->field, batch, sel,
                   [&](std::string_view, uint64_t hash) { sketch_.AddHash(hash); });
  }
  void Finalize(std::vector<double>* out) const override { out->push_back(sketch_.Estimate()); }
};

class QuantilesState final : public SketchState<DDSketch, AggKind::kQuantiles> {
 public:
  explicit QuantilesState(const AggregationSpec* spec) : SketchState(spec, NewSketchFor(*spec)) {}
  DDSketch NewSketch() const override { return NewSketchFor(*spec_); }
  static DDSketch NewSketchFor(const AggregationSpec& spec) {
    return DDSketch(spec.relative_accuracy, DDSketch::kDefaultMaxBuckets);
  }
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    WithNumeric(spec_->field, [&](auto get) {
      const DnsEvent* events = batch.events.data();
      for (const uint32_t i : sel) sketch_.Add(get(batch, events[i]));  // Add skips NaN
    });
  }
  void Finalize(std::vector<double>* out) const override {
    for (const double q : spec_->quantiles) out->push_back(sketch_.Quantile(q));
  }
};

class TopKState final : public SketchState<SpaceSaving, AggKind::kTopK> {
 public:
  explicit TopKState(const AggregationSpec* spec) : SketchState(spec, SpaceSaving(spec->top_k)) {}
  SpaceSaving NewSketch() const override { return SpaceSaving(spec_->top_k); }
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    ForEachKeyHash<true>(spec_->field, batch, sel, [&](std::string_view key, uint64_t hash) {
      // SpaceSaving hashes a key clipped to kMaxKeyBytes; DNS names and addresses are
      // shorter, so the column's hash is the same.
      if (key.size() <= SpaceSaving::kMaxKeyBytes) {
        sketch_.AddHashed(key, hash);
      } else {
        sketch_.Add(key);
      }
    });
  }
  void MergeMany(std::span<const AggState* const> parts) override {
    thread_local std::vector<const SpaceSaving*> sketches;
    sketches.clear();
    for (const AggState* p : parts) sketches.push_back(&static_cast<const TopKState*>(p)->sketch_);
    sketch_.MergeMany(sketches);
  }
  void Finalize(std::vector<double>* out) const override {
    out->push_back(sketch_.TopShare());
    out->push_back(sketch_.Hhi());
  }
};

class EntropyState final : public SketchState<CategoricalCounts, AggKind::kEntropy> {
 public:
  explicit EntropyState(const AggregationSpec* spec)
      : SketchState(spec, CategoricalCounts(spec->max_categories)) {}
  CategoricalCounts NewSketch() const override { return CategoricalCounts(spec_->max_categories); }
  void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) override {
    if (IsCategorical(spec_->field)) {
      ForEachKeyRun(spec_->field, batch, sel,
                    [&](std::string_view key, uint64_t n) { sketch_.Add(key, n); });
      return;
    }
    WithNumeric(spec_->field, [&](auto get) { AddNumeric(batch, sel, get); });
  }
  void Finalize(std::vector<double>* out) const override { out->push_back(sketch_.EntropyBits()); }

 private:
  // A numeric field's key is its value truncated to an integer, in decimal (CategoryField).
  // Small ones (rcode, most qtypes) are counted in a local histogram and added once per
  // value, in order of first appearance; any other value first adds the histogram so far.
  // That leaves the same categories, in the same order, with the same counts as one add
  // per event.
  template <typename Get>
  void AddNumeric(const DnsEventBatch& batch, std::span<const uint32_t> sel, Get get) {
    constexpr long long kSmall = 64;
    uint64_t counts[kSmall] = {};
    uint8_t order[kSmall];
    size_t seen = 0;
    char text[24];
    const auto add = [&](long long value, uint64_t n) {
      const auto end = std::to_chars(text, text + sizeof text, value).ptr;
      sketch_.Add(std::string_view(text, static_cast<size_t>(end - text)), n);
    };
    const auto flush = [&] {
      for (size_t j = 0; j < seen; ++j) {
        add(order[j], counts[order[j]]);
        counts[order[j]] = 0;
      }
      seen = 0;
    };
    const DnsEvent* events = batch.events.data();
    for (const uint32_t i : sel) {
      const double v = get(batch, events[i]);
      if (std::isnan(v)) continue;
      const auto value = static_cast<long long>(v);
      if (value >= 0 && value < kSmall) {
        if (counts[value]++ == 0) order[seen++] = static_cast<uint8_t>(value);
      } else {
        flush();
        add(value, 1);
      }
    }
    flush();
  }
};

// "50" for 0.5, "95" for 0.95, "999" for 0.999, "05" for 0.05, "100" for 1.
std::string QuantileSuffix(double q) {
  if (!(q > 0)) return "0";
  if (q >= 1) return "100";
  const long long scaled = std::llround(q * 1e6);
  if (scaled <= 0) return "0";
  if (scaled >= 1000000) return "100";
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06lld", scaled);
  std::string s(buf);
  while (s.size() > 2 && s.back() == '0') s.pop_back();
  return s;
}

bool ContainsString(const std::vector<std::string>& set, std::string_view v) {
  for (const std::string& s : set)
    if (s == v) return true;
  return false;
}

}  // namespace

std::vector<std::string> AggregationSpec::OutputNames() const {
  switch (kind) {
    case AggKind::kQuantiles: {
      std::vector<std::string> names;
      names.reserve(quantiles.size());
      for (const double q : quantiles) names.push_back(name + "_p" + QuantileSuffix(q));
      return names;
    }
    case AggKind::kTopK:
      return {name + "_top_share", name + "_hhi"};
    default:
      return {name};
  }
}

bool EventPredicate::Matches(const DnsEventBatch& b, const DnsEvent& e) const {
  if (IsCategorical(field)) {
    std::string unused;
    const std::string_view v = CategoryField(b, e, field, &unused);
    switch (op) {
      case Op::kIn:
        return ContainsString(strings, v);
      case Op::kNotIn:
        return !ContainsString(strings, v);
      case Op::kPresent:
        return !v.empty();
      case Op::kGe:
      case Op::kLe:
        return false;
    }
    return false;
  }
  const double v = NumericField(b, e, field);
  const bool absent = std::isnan(v);
  switch (op) {
    case Op::kPresent:
      return !absent;
    case Op::kGe:
      return !absent && !numbers.empty() && v >= numbers[0];
    case Op::kLe:
      return !absent && !numbers.empty() && v <= numbers[0];
    case Op::kIn:
    case Op::kNotIn: {
      bool in = false;
      if (!absent) {
        for (const double n : numbers) {
          if (n == v) {
            in = true;
            break;
          }
        }
        if (!in && !strings.empty()) {
          char buf[32];
          const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
          in = ContainsString(strings, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
        }
      }
      return op == Op::kIn ? in : !in;
    }
  }
  return false;
}

namespace {

// How to build the state of one aggregation kind: its size, and a constructor in place.
struct StateMaker {
  size_t size;
  AggState* (*make)(const AggregationSpec& spec, void* where);
};

template <typename State>
StateMaker Maker(AggState* (*make)(const AggregationSpec&, void*)) {
  static_assert(alignof(State) <= alignof(std::max_align_t));
  return {sizeof(State), make};
}

StateMaker MakerFor(const AggregationSpec& spec) {
  using S = const AggregationSpec&;
  switch (spec.kind) {
    case AggKind::kCount:
      return Maker<CountState>([](S, void* w) -> AggState* { return new (w) CountState(); });
    case AggKind::kSum:
      return Maker<SumState>([](S s, void* w) -> AggState* { return new (w) SumState(s.field); });
    case AggKind::kMin:
      return Maker<ExtremumState<false>>(
          [](S s, void* w) -> AggState* { return new (w) ExtremumState<false>(s.field); });
    case AggKind::kMax:
      return Maker<ExtremumState<true>>(
          [](S s, void* w) -> AggState* { return new (w) ExtremumState<true>(s.field); });
    case AggKind::kMean:
    case AggKind::kVariance:
      return Maker<MomentsState>(
          [](S s, void* w) -> AggState* { return new (w) MomentsState(s.kind, s.field); });
    case AggKind::kRatio:
      return Maker<RatioState>([](S s, void* w) -> AggState* { return new (w) RatioState(&s); });
    case AggKind::kDistinct:
      return Maker<DistinctState>(
          [](S s, void* w) -> AggState* { return new (w) DistinctState(&s); });
    case AggKind::kQuantiles:
      return Maker<QuantilesState>(
          [](S s, void* w) -> AggState* { return new (w) QuantilesState(&s); });
    case AggKind::kTopK:
      return Maker<TopKState>([](S s, void* w) -> AggState* { return new (w) TopKState(&s); });
    case AggKind::kEntropy:
      return Maker<EntropyState>(
          [](S s, void* w) -> AggState* { return new (w) EntropyState(&s); });
  }
  return {0, nullptr};  // not an AggKind: a programming error upstream
}

}  // namespace

std::unique_ptr<AggState> MakeAggState(const AggregationSpec& spec) {
  const StateMaker m = MakerFor(spec);
  if (m.make == nullptr) return nullptr;
  // Freed by the state's virtual deleting destructor, which passes the same size.
  return std::unique_ptr<AggState>(m.make(spec, ::operator new(m.size)));
}

size_t AggStateSize(const AggregationSpec& spec) {
  return MakerFor(spec).size;
}

AggState* MakeAggStateAt(const AggregationSpec& spec, void* where) {
  const StateMaker m = MakerFor(spec);
  return m.make == nullptr ? nullptr : m.make(spec, where);
}

}  // namespace dnsight
