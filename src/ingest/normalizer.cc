#include "ingest/normalizer.h"

#include <libpsl.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace dnsight {
namespace {

constexpr size_t kMaxNameLength = 1024;  // presentation form, escapes included
constexpr int64_t kMaxEventTimeNs = 7'258'118'400'000'000'000;  // 2200-01-01T00:00:00Z
constexpr int64_t kMaxLatencyNs = 3'600'000'000'000;            // one hour
constexpr int kCacheLabels = 4;

// The last n labels of name (the whole name if it has fewer).
std::string_view LastLabels(std::string_view name, int n) {
  size_t pos = name.size();
  for (int i = 0; i < n; ++i) {
    const size_t dot = name.rfind('.', pos == 0 ? 0 : pos - 1);
    if (dot == std::string_view::npos || pos == 0) return name;
    pos = dot;
  }
  return name.substr(pos + 1);
}

}  // namespace

namespace {

// n * log2(n) for n in [0, 1024], so label entropy needs no log per character:
// H = log2(L) - (1/L) * sum(c * log2 c) over the label's character counts c.
struct NLogN {
  double v[1025];
  NLogN() {
    v[0] = 0;
    for (int n = 1; n <= 1024; ++n) v[n] = n * std::log2(static_cast<double>(n));
  }
};
const NLogN kNLogN;

}  // namespace

void LabelStats(std::string_view name, uint16_t* label_count, float* mean_entropy) {
  *label_count = 0;
  *mean_entropy = 0;
  if (name.empty()) return;
  double total = 0;
  uint16_t labels = 0;
  uint16_t counts[256] = {};
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const size_t len = end - start;
    if (len > 0) {
      for (size_t i = start; i < end; ++i) ++counts[static_cast<uint8_t>(name[i])];
      double sum = 0;
      for (size_t i = start; i < end; ++i) {
        uint16_t& c = counts[static_cast<uint8_t>(name[i])];
        if (c == 0) continue;  // already accounted
        sum += kNLogN.v[c];
        c = 0;
      }
      // Labels are at most 1024 bytes here (names are bounded by kMaxNameLength).
      total += kNLogN.v[len] / static_cast<double>(len) - sum / static_cast<double>(len);
      ++labels;
    }
    start = end + 1;
  }
  *label_count = labels;
  *mean_entropy = labels ? static_cast<float>(total / labels) : 0.0f;
}

// The public suffix list: libpsl's context, and every suffix of two or more labels that
// has a rule below it (hashes only: a collision just disables the shortcut for a name).
// Immutable once loaded; libpsl lookups take a const context, so finders on any thread
// share it.
struct RegisteredDomainFinder::SuffixList {
  const psl_ctx_st* psl = nullptr;
  std::unordered_set<uint64_t> rule_parents;
  bool parents_known = false;

  SuffixList() {
    // The system list as text: libpsl matches against it, and the same file tells which
    // suffixes have deeper rules (see Find). Without it: libpsl's newest list, no shortcut.
    const char* dat = psl_builtin_filename();
    if (dat != nullptr && (psl = psl_load_file(dat)) != nullptr) {
      LoadRuleParents(dat);
    } else if ((psl = psl_latest(nullptr)) == nullptr) {
      psl = psl_builtin();
    }
  }

  void LoadRuleParents(const char* path) {
    std::FILE* f = std::fopen(path, "r");
    if (f == nullptr) return;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      std::string_view rule(line);
      rule = rule.substr(0, rule.find_first_of(" \t\r\n"));
      if (rule.empty() || rule.starts_with("//")) continue;
      if (rule.front() == '!') rule.remove_prefix(1);
      // Every proper suffix of two or more labels has a deeper rule below it.
      for (size_t dot = rule.find('.'); dot != std::string_view::npos;
           dot = rule.find('.', dot + 1)) {
        const std::string_view parent = rule.substr(dot + 1);
        if (parent.find('.') == std::string_view::npos) break;
        rule_parents.insert(XXH3_64bits(parent.data(), parent.size()));
      }
    }
    parents_known = !std::ferror(f);
    std::fclose(f);
  }
};

const RegisteredDomainFinder::SuffixList& RegisteredDomainFinder::SharedList() {
  // Loaded on first use (thread-safe static initialization) and kept for the process: a
  // pipeline, a test or a fuzz input does not pay the load again.
  static const SuffixList* const list = new SuffixList();
  return *list;
}

RegisteredDomainFinder::RegisteredDomainFinder(size_t cache_entries)
    : list_(SharedList()), max_slots_(std::bit_ceil(std::max<size_t>(cache_entries, 16))) {
  slots_.resize(std::min(max_slots_, kFirstCacheSlots));
}

size_t RegisteredDomainFinder::Lookup(std::string_view name) {
  if (list_.psl == nullptr || name.empty()) return 0;
  scratch_.assign(name);
  const char* rd = psl_registrable_domain(list_.psl, scratch_.c_str());
  if (rd == nullptr) return 0;
  return scratch_.size() - static_cast<size_t>(rd - scratch_.c_str());
}

const RegisteredDomainFinder::Slot* RegisteredDomainFinder::Cached(std::string_view key) {
  if (key.size() > sizeof(Slot::key) || key.empty()) return nullptr;
  const uint64_t hash = XXH3_64bits(key.data(), key.size());
  if (fills_ >= 2 * slots_.size() && slots_.size() < max_slots_) {
    slots_.assign(slots_.size() * 2, Slot{});
    fills_ = 0;
  }
  Slot& slot = slots_[hash & (slots_.size() - 1)];
  if (slot.key_len == key.size() && slot.hash == hash &&
      std::memcmp(slot.key, key.data(), key.size()) == 0)
    return &slot;
  ++fills_;
  slot.hash = hash;
  slot.rd_len = static_cast<uint16_t>(Lookup(key));
  slot.key_len = static_cast<uint8_t>(key.size());
  slot.no_deeper_rules = list_.parents_known && !list_.rule_parents.contains(hash);
  std::memcpy(slot.key, key.data(), key.size());
  return &slot;
}

size_t RegisteredDomainFinder::Find(std::string_view name) {
  if (!list_.parents_known) return FindWithoutRuleParents(name);
  // Rules are listed in Unicode; such names are rare, look them up whole.
  if (name.find("xn--") != std::string_view::npos ||
      std::any_of(name.begin(), name.end(), [](char c) { return c & 0x80; }))
    return Lookup(name);
  // The last k labels decide the answer when no rule of the list lies below them: the
  // registered domain of any longer name is then that of the key. Keys are cached, so a
  // name under a known domain costs one cache probe.
  for (int k = 2; k <= kCacheLabels; ++k) {
    const std::string_view key = LastLabels(name, k);
    const Slot* slot = Cached(key);
    if (slot == nullptr) break;
    if (key.size() == name.size()) return slot->rd_len;
    if (slot->no_deeper_rules && slot->rd_len > 0) return slot->rd_len;
  }
  return Lookup(name);
}

size_t RegisteredDomainFinder::FindWithoutRuleParents(std::string_view name) {
  // Cache by the last kCacheLabels labels; when the answer covers that whole key, a longer
  // suffix rule might apply, so the full name is looked up uncached. (This misses rules
  // deeper than kCacheLabels-1 labels that match only the full name.)
  const std::string_view key = LastLabels(name, kCacheLabels);
  const Slot* slot = Cached(key);
  const size_t len = slot ? slot->rd_len : Lookup(key);
  if ((len == key.size() || len == 0) && key.size() < name.size()) return Lookup(name);
  return len;
}

EventNormalizer::EventNormalizer(NormalizerOptions options)
    : redactor_(options.redaction),
      domains_(options.psl_cache_entries),
      seen_capacity_(options.seen_domains_capacity),
      score_names_(options.score_names),
      score_gates_(std::move(options.score_gates)),
      label_stats_(options.label_stats),
      first_seen_(options.first_seen || options.score_names),
      registered_domain_(options.registered_domain || first_seen_) {
  for (DnsField f : options.hashed_fields) {
    if (HashedFieldSlot(f) >= 0 &&
        std::find(hashed_fields_.begin(), hashed_fields_.end(), f) == hashed_fields_.end())
      hashed_fields_.push_back(f);
  }
  hash_rd_ = std::find(hashed_fields_.begin(), hashed_fields_.end(), DnsField::kRegisteredDomain) !=
             hashed_fields_.end();
}

float EventNormalizer::CachedDgaScore(std::string_view label) {
  if (label.size() > sizeof(ScoreSlot::label)) return static_cast<float>(names_.DgaScore(label));
  if (score_cache_.empty()) score_cache_.resize(16384);
  const uint64_t h = XXH3_64bits(label.data(), label.size());
  ScoreSlot& slot = score_cache_[h & (score_cache_.size() - 1)];
  const uint64_t version = names_.labels_learned();
  if (slot.model_version == version && slot.hash == h && slot.len == label.size() &&
      std::memcmp(slot.label, label.data(), label.size()) == 0)
    return slot.score;
  slot.hash = h;
  slot.model_version = version;
  slot.score = static_cast<float>(names_.DgaScore(label));
  slot.len = static_cast<uint8_t>(label.size());
  std::memcpy(slot.label, label.data(), label.size());
  return slot.score;
}

bool EventNormalizer::NeedsScore(const DnsEventBatch& batch, const DnsEvent& e) const {
  if (score_gates_.empty()) return true;
  for (const auto& gate : score_gates_) {
    bool all = true;
    for (const auto& p : gate) {
      if (!p.Matches(batch, e)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

bool EventNormalizer::IsNewDomain(uint64_t rd_hash) {
  if (seen_current_.Contains(rd_hash) || seen_previous_.Contains(rd_hash)) return false;
  if (seen_current_.size() >= seen_capacity_) {
    seen_previous_.swap(seen_current_);
    seen_current_.Clear();
  }
  seen_current_.Insert(rd_hash);
  return true;
}

bool EventNormalizer::Append(const RawDnsObservation& obs, DnsEventBatch* batch,
                             std::string_view* reason) {
  DnsEvent e;
  e.ts_ns = obs.query_time_ns >= 0 ? obs.query_time_ns : obs.response_time_ns;
  if (e.ts_ns < 0) {
    *reason = "missing_timestamp";
    return false;
  }
  if (e.ts_ns > kMaxEventTimeNs) {
    // Keeps pane and watermark arithmetic far from int64 overflow.
    *reason = "bad_timestamp";
    return false;
  }
  if (obs.latency_ns >= 0) {
    e.latency_ns = obs.latency_ns;
  } else if (obs.query_time_ns >= 0 && obs.response_time_ns >= obs.query_time_ns) {
    e.latency_ns = obs.response_time_ns - obs.query_time_ns;
  }
  if (e.latency_ns > kMaxLatencyNs) e.latency_ns = -1;  // not a DNS latency: unknown
  std::string_view qname = obs.qname;
  if (!qname.empty() && qname.back() == '.') qname.remove_suffix(1);
  if (qname.size() > kMaxNameLength || qname.size() > UINT16_MAX) {
    *reason = "bad_qname";
    return false;
  }
  const size_t off = batch->arena.size();
  batch->arena.resize(off + qname.size());
  char* dst = batch->arena.data() + off;
  char prev = '.';
  for (size_t i = 0; i < qname.size(); ++i) {
    char c = qname[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c == '.' && prev == '.') {
      batch->arena.resize(off);
      *reason = "bad_qname";
      return false;
    }
    dst[i] = c;
    prev = c;
  }
  const std::string_view name(dst, qname.size());
  e.qname_off = static_cast<uint32_t>(off);
  e.qname_len = static_cast<uint16_t>(qname.size());
  if (registered_domain_) e.rd_len = static_cast<uint16_t>(domains_.Find(name));
  if (label_stats_) LabelStats(name, &e.label_count, &e.label_entropy);
  // The name model learns from first sightings, so scoring needs them too.
  // The registered domain's hash serves the first-seen set and the hash column.
  uint64_t rd_hash = 0;
  if ((first_seen_ && e.rd_len > 0) || hash_rd_) {
    const std::string_view rd = name.substr(name.size() - e.rd_len);
    rd_hash = XXH3_64bits(rd.data(), rd.size());
  }
  if (first_seen_ && e.rd_len > 0) e.new_domain = IsNewDomain(rd_hash);
  e.client = redactor_.Apply(obs.client);
  e.server = obs.server;
  e.client_port = obs.client_port;
  e.server_port = obs.server_port;
  e.qtype = obs.qtype;
  e.rcode = static_cast<int16_t>(obs.rcode < 0 ? -1 : obs.rcode);
  e.query_size = obs.query_size;
  e.response_size = obs.response_size;
  e.min_ttl = obs.min_ttl;
  e.answer_count = obs.answer_count;
  e.transport = obs.transport;
  if (score_names_ && e.rd_len > 0) {
    // Score before learning, so a domain never vouches for itself.
    const std::string_view label = NameModel::RegisteredLabel(name.substr(name.size() - e.rd_len));
    // The qname is already in batch->arena, so gates may read it.
    if (NeedsScore(*batch, e)) e.dga_score = CachedDgaScore(label);
    if (e.new_domain && e.rcode == 0) names_.Learn(label);
  }
  for (DnsField f : hashed_fields_) {
    auto& column = batch->field_hashes[static_cast<size_t>(HashedFieldSlot(f))];
    if (f == DnsField::kRegisteredDomain) {
      column.push_back(rd_hash);
      continue;
    }
    std::string scratch;  // hashed fields are stored in the event or the arena
    const std::string_view key = CategoryField(*batch, e, f, &scratch);
    column.push_back(XXH3_64bits(key.data(), key.size()));
  }
  batch->events.push_back(e);
  return true;
}

}  // namespace dnsight
