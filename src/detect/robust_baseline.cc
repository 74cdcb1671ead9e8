#include "detect/robust_baseline.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/int_math.h"
#include "common/serial.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Larger magnitudes are treated as missing, so that no difference, scale or clip band
// computed from learnt values can overflow to infinity.
constexpr double kMaxMagnitude = 1e300;
// 1.4826 * MAD estimates sigma for normal data; sqrt(pi / 2) * mean |error| does too.
constexpr double kMadToSigma = 1.4826;
constexpr double kMeanAbsToSigma = 1.2533141373155003;

// Checkpoint framing: magic, version, body, then XXH3-64 of magic..body (little-endian).
constexpr uint8_t kMagic = 0xB7;
constexpr uint8_t kVersion = 1;
constexpr size_t kChecksumBytes = 8;
constexpr uint8_t kVectorMagic = 0xB8;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Median and MAD of n values (n >= 1, n <= kMaxRing), without touching the input.
constexpr size_t kMaxRing = 64;
static_assert(BaselineOptions::kMaxSlotHistory <= kMaxRing);
static_assert(BaselineOptions::kMaxRecentPoints <= kMaxRing);

double MedianOfSorted(const double* v, size_t n) {
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void MedianAndMad(const double* values, size_t n, double* median, double* mad) {
  if (n == 0 || n > kMaxRing) {
    *median = *mad = kNaN;
    return;
  }
  double buf[kMaxRing];
  std::copy_n(values, n, buf);
  std::sort(buf, buf + n);
  const double m = MedianOfSorted(buf, n);
  for (size_t i = 0; i < n; ++i) buf[i] = std::fabs(buf[i] - m);
  std::sort(buf, buf + n);
  *median = m;
  *mad = MedianOfSorted(buf, n);
}

void PutU32(std::string* out, uint32_t v) {
  PutVarint(out, v);
}

bool ReadU32(SerialReader* r, uint32_t* v) {
  uint64_t x;
  if (!r->Varint(&x) || x > 0xffffffffull) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

bool ReadFinite(SerialReader* r, double* d) {
  return r->F64(d) && std::fabs(*d) <= kMaxMagnitude;
}

void AppendChecksum(std::string* out, size_t from) {
  const uint64_t h = XXH3_64bits(out->data() + from, out->size() - from);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((h >> (8 * i)) & 0xff));
}

// Verifies the trailing checksum and returns the bytes before it in *body.
Status CheckFrame(std::string_view bytes, uint8_t magic, std::string_view* body) {
  if (bytes.size() < 2 + kChecksumBytes) return Status::OutOfRange("baseline: truncated");
  const std::string_view framed = bytes.substr(0, bytes.size() - kChecksumBytes);
  uint64_t want = 0;
  for (size_t i = 0; i < kChecksumBytes; ++i)
    want |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[framed.size() + i])) << (8 * i);
  if (XXH3_64bits(framed.data(), framed.size()) != want)
    return Status::InvalidArgument("baseline: checksum mismatch");
  if (static_cast<uint8_t>(framed[0]) != magic)
    return Status::InvalidArgument("baseline: bad magic");
  if (static_cast<uint8_t>(framed[1]) != kVersion)
    return Status::InvalidArgument("baseline: unsupported version");
  *body = framed.substr(2);
  return Status::Ok();
}

}  // namespace

bool ParseScoreDirection(std::string_view text, ScoreDirection* out) {
  if (text == "both") {
    *out = ScoreDirection::kBoth;
  } else if (text == "up") {
    *out = ScoreDirection::kUp;
  } else if (text == "down") {
    *out = ScoreDirection::kDown;
  } else {
    return false;
  }
  return true;
}

std::string_view ScoreDirectionName(ScoreDirection d) {
  switch (d) {
    case ScoreDirection::kUp:
      return "up";
    case ScoreDirection::kDown:
      return "down";
    case ScoreDirection::kBoth:
      break;
  }
  return "both";
}

Status ValidateBaselineOptions(const BaselineOptions& o) {
  const auto bad = [](const char* what) { return Status::InvalidArgument(what); };
  if (o.period_ns < 0) return bad("period must not be negative");
  if (o.period_ns > 0) {
    if (o.slot_ns <= 0) return bad("slot must be positive");
    if (o.period_ns % o.slot_ns != 0) return bad("period must be a multiple of slot");
    if (o.period_ns / o.slot_ns > BaselineOptions::kMaxSlots)
      return bad("period / slot exceeds 2016 slots");
    if (o.slot_history < 1 || o.slot_history > BaselineOptions::kMaxSlotHistory)
      return bad("slot_history must be in [1, 64]");
    if (o.min_slot_points < 1 || o.min_slot_points > o.slot_history)
      return bad("min_slot_points must be in [1, slot_history]");
  }
  if (o.recent_points < 1 || o.recent_points > BaselineOptions::kMaxRecentPoints)
    return bad("recent_points must be in [1, 64]");
  if (o.min_points < 1) return bad("min_points must be at least 1");
  if (!(o.level_alpha >= 0 && o.level_alpha <= 1)) return bad("level_alpha must be in [0, 1]");
  if (!(o.scale_alpha > 0 && o.scale_alpha <= 1)) return bad("scale_alpha must be in (0, 1]");
  if (!(o.clip > 0) || !std::isfinite(o.clip)) return bad("clip must be positive");
  if (!(o.threshold > 0) || !std::isfinite(o.threshold)) return bad("threshold must be positive");
  if (!(o.min_scale > 0) || !std::isfinite(o.min_scale)) return bad("min_scale must be positive");
  if (!(o.relative_min_scale >= 0) || !std::isfinite(o.relative_min_scale))
    return bad("relative_min_scale must not be negative");
  return Status::Ok();
}

RobustBaseline::RobustBaseline(const BaselineOptions* options)
    : options_(options),
      slots_(options->period_ns > 0 ? static_cast<uint32_t>(options->period_ns / options->slot_ns)
                                    : 0),
      slot_cap_(options->period_ns > 0 ? options->slot_history : 0),
      recent_cap_(options->recent_points) {}

void RobustBaseline::Allocate() {
  values_.assign(recent_cap_ + size_t{slots_} * slot_cap_, 0.0);
  slot_state_.assign(slots_, SlotState{});
}

void RobustBaseline::Reset() {
  points_ = missing_ = 0;
  level_recent_ = level_seasonal_ = deviation_ = 0;
  recent_fill_ = recent_head_ = 0;
  values_ = {};
  slot_state_ = {};
}

size_t RobustBaseline::MemoryBytes() const {
  return sizeof(*this) + values_.capacity() * sizeof(double) +
         slot_state_.capacity() * sizeof(SlotState);
}

void RobustBaseline::CloseStaleCycle(uint32_t slot, int64_t cycle) {
  SlotState& s = slot_state_[slot];
  if (s.open_count == 0 || cycle <= s.open_cycle) return;
  SlotRing(slot)[s.head] = s.open_sum / s.open_count;
  s.head = static_cast<uint8_t>((s.head + 1) % slot_cap_);
  if (s.fill < slot_cap_) ++s.fill;
  s.open_count = 0;
  s.open_sum = 0;
}

RobustBaseline::Reference RobustBaseline::RecentReference() const {
  if (recent_fill_ == 0) return {kNaN, 0, false};
  double median, mad;
  MedianAndMad(recent(), recent_fill_, &median, &mad);
  return {median, kMadToSigma * mad, false};
}

RobustBaseline::Reference RobustBaseline::ReferenceFor(uint32_t slot) const {
  if (slots_ > 0 && slot_state_[slot].fill >= options_->min_slot_points) {
    double median, mad;
    MedianAndMad(SlotRing(slot), slot_state_[slot].fill, &median, &mad);
    return {median, kMadToSigma * mad, true};
  }
  return RecentReference();
}

void RobustBaseline::Learn(int64_t cycle, uint32_t slot, double value) {
  recent()[recent_head_] = value;
  recent_head_ = (recent_head_ + 1) % recent_cap_;
  if (recent_fill_ < recent_cap_) ++recent_fill_;
  if (slots_ == 0) return;
  SlotState& s = slot_state_[slot];
  if (s.open_count == 0) {
    s.open_cycle = cycle;
  } else if (cycle < s.open_cycle) {
    return;  // an older cycle than the one being accumulated: too late for the profile
  }
  s.open_sum += value;
  ++s.open_count;
}

BaselineScore RobustBaseline::Observe(int64_t t_ns, double x) {
  BaselineScore out;
  if (!(std::fabs(x) <= kMaxMagnitude)) {  // NaN, infinite or absurdly large
    ++missing_;
    out.state = BaselineScore::State::kMissing;
    out.score = out.baseline = out.scale = kNaN;
    return out;
  }
  if (values_.empty()) Allocate();
  const BaselineOptions& o = *options_;

  uint32_t slot = 0;
  int64_t cycle = 0;
  if (slots_ > 0) {
    cycle = FloorDiv(t_ns, o.period_ns);
    int64_t phase = t_ns % o.period_ns;
    if (phase < 0) phase += o.period_ns;
    slot = static_cast<uint32_t>(phase / o.slot_ns);
    CloseStaleCycle(slot, cycle);
  }

  const Reference ref = ReferenceFor(slot);
  double& level = ref.seasonal ? level_seasonal_ : level_recent_;
  const double baseline = ref.center + level;
  // The recent points' spread only seeds the error scale (end of warm-up): as a live term
  // it would widen within a few points of any step, half the ring on either side of it.
  const double spread = ref.seasonal ? ref.spread : 0;
  const double scale =
      std::max({deviation_, spread, o.min_scale, o.relative_min_scale * std::fabs(baseline)});
  out.seasonal = ref.seasonal;
  out.baseline = baseline;
  out.scale = std::isnan(baseline) ? kNaN : scale;

  const bool warming = points_ < o.min_points || std::isnan(baseline);
  double learnt = x;
  if (warming) {
    out.state = BaselineScore::State::kWarming;
    out.score = kNaN;
  } else {
    const double z = (x - baseline) / scale;
    double score = z;
    if (o.direction == ScoreDirection::kBoth) score = std::fabs(z);
    if (o.direction == ScoreDirection::kDown) score = -z;
    out.state = BaselineScore::State::kScored;
    out.score = std::max(score, 0.0);
    out.anomaly = out.score >= o.threshold;

    // Learn the clipped value, so that an anomaly cannot drag the baseline with it.
    const double band = o.clip * scale;
    learnt = std::clamp(x, baseline - band, baseline + band);
    level += o.level_alpha * ((learnt - ref.center) - level);
    // An anomaly's error counts as at most one scale: a burst cannot inflate the scale (and
    // so hide what follows), yet a lasting change of regime still widens it, slowly.
    const double error = std::min(std::fabs(learnt - baseline), out.anomaly ? scale : band);
    deviation_ += o.scale_alpha * (kMeanAbsToSigma * error - deviation_);
  }

  Learn(cycle, slot, learnt);
  ++points_;
  if (points_ == o.min_points) {
    // End of warm-up: start the error scale from the robust spread of what was seen.
    deviation_ = RecentReference().spread;
    level_recent_ = level_seasonal_ = 0;
  }
  return out;
}

// Body layout (varints unless noted): period_ns (zigzag), slot_ns (zigzag), slots,
// slot_history, recent_points, points, missing, recent level (f64), seasonal level (f64),
// deviation (f64), allocated
// (u8); if allocated: recent fill, the recent values oldest first (f64), and per slot:
// fill, the ring oldest first (f64), open count, and if open: open cycle (zigzag), open sum
// (f64).
void RobustBaseline::SerializeTo(std::string* out) const {
  const size_t start = out->size();
  out->push_back(static_cast<char>(kMagic));
  out->push_back(static_cast<char>(kVersion));
  PutVarint(out, ZigZag(slots_ > 0 ? options_->period_ns : 0));
  PutVarint(out, ZigZag(slots_ > 0 ? options_->slot_ns : 0));
  PutU32(out, slots_);
  PutU32(out, slot_cap_);
  PutU32(out, recent_cap_);
  PutVarint(out, points_);
  PutVarint(out, missing_);
  PutF64(out, level_recent_);
  PutF64(out, level_seasonal_);
  PutF64(out, deviation_);
  out->push_back(values_.empty() ? 0 : 1);
  if (!values_.empty()) {
    PutU32(out, recent_fill_);
    const uint32_t first = (recent_head_ + recent_cap_ - recent_fill_) % recent_cap_;
    for (uint32_t i = 0; i < recent_fill_; ++i) PutF64(out, recent()[(first + i) % recent_cap_]);
    for (uint32_t slot = 0; slot < slots_; ++slot) {
      const SlotState& s = slot_state_[slot];
      PutU32(out, s.fill);
      const uint32_t oldest = (s.head + slot_cap_ - s.fill) % slot_cap_;
      for (uint32_t i = 0; i < s.fill; ++i) PutF64(out, SlotRing(slot)[(oldest + i) % slot_cap_]);
      PutU32(out, s.open_count);
      if (s.open_count > 0) {
        PutVarint(out, ZigZag(s.open_cycle));
        PutF64(out, s.open_sum);
      }
    }
  }
  AppendChecksum(out, start);
}

std::string RobustBaseline::Serialize() const {
  std::string out;
  SerializeTo(&out);
  return out;
}

Status RobustBaseline::Deserialize(std::string_view bytes) {
  std::string_view body;
  if (Status st = CheckFrame(bytes, kMagic, &body); !st.ok()) return st;
  SerialReader r{body};
  const auto truncated = [] { return Status::OutOfRange("baseline: truncated"); };
  const auto bad = [](const char* why) {
    return Status::InvalidArgument(std::string("baseline: ") + why);
  };

  uint64_t period, slot_width;
  uint32_t slots, slot_cap, recent_cap;
  if (!r.Varint(&period) || !r.Varint(&slot_width) || !ReadU32(&r, &slots) ||
      !ReadU32(&r, &slot_cap) || !ReadU32(&r, &recent_cap))
    return truncated();
  const int64_t want_period = slots_ > 0 ? options_->period_ns : 0;
  const int64_t want_slot = slots_ > 0 ? options_->slot_ns : 0;
  if (UnZigZag(period) != want_period || UnZigZag(slot_width) != want_slot || slots != slots_ ||
      slot_cap != slot_cap_ || recent_cap != recent_cap_)
    return bad("shape differs from the options (period, slot, slot_history, recent_points)");

  RobustBaseline next(options_);
  uint8_t allocated;
  if (!r.Varint(&next.points_) || !r.Varint(&next.missing_) || !r.F64(&next.level_recent_) ||
      !r.F64(&next.level_seasonal_) || !r.F64(&next.deviation_) || !r.U8(&allocated))
    return truncated();
  if (!std::isfinite(next.level_recent_) || !std::isfinite(next.level_seasonal_) ||
      !std::isfinite(next.deviation_) || next.deviation_ < 0)
    return bad("non-finite level or deviation");
  if (allocated > 1) return bad("bad allocation flag");
  if (allocated == 1) {
    next.Allocate();
    uint32_t fill;
    if (!ReadU32(&r, &fill)) return truncated();
    if (fill > recent_cap_ || fill == 0 || fill > next.points_)
      return bad("recent fill out of range");
    for (uint32_t i = 0; i < fill; ++i)
      if (!ReadFinite(&r, &next.recent()[i])) return r.in.size() < 8 ? truncated() : bad("value");
    next.recent_fill_ = fill;
    next.recent_head_ = fill % recent_cap_;
    for (uint32_t slot = 0; slot < slots_; ++slot) {
      SlotState& s = next.slot_state_[slot];
      uint32_t slot_fill, open_count;
      if (!ReadU32(&r, &slot_fill)) return truncated();
      if (slot_fill > slot_cap_) return bad("slot fill out of range");
      for (uint32_t i = 0; i < slot_fill; ++i)
        if (!ReadFinite(&r, &next.SlotRing(slot)[i]))
          return r.in.size() < 8 ? truncated() : bad("value");
      s.fill = static_cast<uint8_t>(slot_fill);
      s.head = static_cast<uint8_t>(slot_fill % slot_cap_);
      if (!ReadU32(&r, &open_count)) return truncated();
      s.open_count = open_count;
      if (open_count > 0) {
        uint64_t c;
        if (!r.Varint(&c)) return truncated();
        s.open_cycle = UnZigZag(c);
        if (!ReadFinite(&r, &s.open_sum)) return r.in.size() < 8 ? truncated() : bad("value");
      }
    }
  } else if (next.points_ > 0) {
    return bad("points without state");
  }
  if (!r.in.empty()) return bad("trailing bytes");
  *this = std::move(next);
  return Status::Ok();
}

VectorBaseline::VectorBaseline(std::span<const BaselineOptions* const> per_feature) {
  series_.reserve(per_feature.size());
  for (const BaselineOptions* o : per_feature) series_.emplace_back(o);
}

VectorBaseline::VectorBaseline(size_t features, const BaselineOptions* options) {
  series_.reserve(features);
  for (size_t i = 0; i < features; ++i) series_.emplace_back(options);
}

double VectorBaseline::Observe(int64_t t_ns, std::span<const double> values,
                               std::span<BaselineScore> out) {
  double top = 0;
  for (size_t i = 0; i < series_.size(); ++i) {
    out[i] = series_[i].Observe(t_ns, values[i]);
    if (out[i].state == BaselineScore::State::kScored) top = std::max(top, out[i].score);
  }
  return top;
}

size_t VectorBaseline::MemoryBytes() const {
  size_t total = sizeof(*this) + (series_.capacity() - series_.size()) * sizeof(RobustBaseline);
  for (const RobustBaseline& b : series_) total += b.MemoryBytes();
  return total;
}

// Layout: magic, version, feature count, then per feature a length and that feature's
// RobustBaseline bytes; then XXH3-64 of everything before it.
void VectorBaseline::SerializeTo(std::string* out) const {
  const size_t start = out->size();
  out->push_back(static_cast<char>(kVectorMagic));
  out->push_back(static_cast<char>(kVersion));
  PutVarint(out, series_.size());
  std::string one;
  for (const RobustBaseline& b : series_) {
    one.clear();
    b.SerializeTo(&one);
    PutVarint(out, one.size());
    out->append(one);
  }
  AppendChecksum(out, start);
}

Status VectorBaseline::Deserialize(std::string_view bytes) {
  std::string_view body;
  if (Status st = CheckFrame(bytes, kVectorMagic, &body); !st.ok()) return st;
  SerialReader r{body};
  uint64_t count;
  if (!r.Varint(&count)) return Status::OutOfRange("baseline vector: truncated");
  if (count != series_.size())
    return Status::InvalidArgument("baseline vector: feature count differs");
  std::vector<RobustBaseline> next = series_;
  for (RobustBaseline& b : next) {
    uint64_t len;
    std::string_view one;
    if (!r.Varint(&len) || !r.Bytes(len, &one))
      return Status::OutOfRange("baseline vector: truncated");
    if (Status st = b.Deserialize(one); !st.ok()) return st;
  }
  if (!r.in.empty()) return Status::InvalidArgument("baseline vector: trailing bytes");
  series_ = std::move(next);
  return Status::Ok();
}

}  // namespace dnsight
