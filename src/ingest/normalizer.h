// EventNormalizer: turns decoder observations into normalized DnsEvents.
//
// For each observation it: lowercases the qname and drops the trailing dot; finds the
// registered domain (eTLD+1) with the public suffix list (libpsl with the system list's
// text when installed, else libpsl's newest or built-in list); measures label count and mean
// per-label character entropy; sets event time (query time, else response time) and latency;
// redacts the client address; and marks the first sighting of each registered domain
// (`new_domain`, from a bounded two-generation set, so "first" means "not seen in the
// last ~seen_domains_capacity distinct domains"). The derived fields (registered domain,
// label statistics, first sighting, DGA score) are computed only when NormalizerOptions
// asks for them; the pipeline asks for exactly what its views read.
//
// Thread-safety: not thread-safe; one per ingest thread. Output is deterministic for a
// given input order, which is what makes multi-threaded runs equal single-threaded ones.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/hash_set64.h"
#include "dnsight/aggregator.h"
#include "dnsight/dns_event.h"
#include "dnsight/observation.h"
#include "dnsight/status.h"
#include "ingest/name_model.h"
#include "ingest/redactor.h"

struct psl_ctx_st;

namespace dnsight {

struct NormalizerOptions {
  RedactionOptions redaction;
  size_t psl_cache_entries = 1 << 16;      // suffix → eTLD+1 length cache (64 B per entry)
  size_t seen_domains_capacity = 1 << 20;  // per generation (cost: 16 to 32 B each)
  // Score every event's registered label with the site NameModel (field dga_score) and
  // learn the model from newly seen domains that resolve. Costs ~30 ns per event; on
  // only when a view uses dga_score.
  bool score_names = false;
  // When non-empty, an event is scored only if every predicate of at least one gate
  // matches it (an empty gate matches everything); other events keep dga_score 0. The
  // pipeline derives the gates from the views that read dga_score (e.g. a ratio where
  // rcode is NXDOMAIN and dga_score >= 0.7 needs scores of NXDOMAIN events only). The
  // model still learns from every event. Predicates on dga_score itself are not allowed.
  std::vector<std::vector<EventPredicate>> score_gates;
  // Derive label_count / label_entropy and new_domain. They are features, not part of the
  // normalization; the pipeline turns each off when no view reads it (label entropy was
  // about 10% of the decode profile). Off: the fields keep their defaults (0, false).
  bool label_stats = true;
  bool first_seen = true;
  // Find the registered domain (a public-suffix lookup, ~8% of a small view's profile).
  // Off: rd_len stays 0 unless first_seen or score_names need it.
  bool registered_domain = true;
  // Categorical fields to hash once per event into DnsEventBatch::field_hashes (fields
  // without a hash column are ignored). The pipeline lists the fields that distinct-count
  // and top-k aggregations read, so each key is hashed once instead of once per view.
  std::vector<DnsField> hashed_fields;
};

// Registered-domain lookup with a bounded cache. Exposed for tests.
// With the list's text it caches by the last two to four labels, and answers from a key
// when no rule of the list lies below it: a name under a known domain costs one probe,
// and rules of any depth are honoured. The list is loaded once per process (~10 ms, on
// first use) and shared read-only by every finder; the cache is per finder.
class RegisteredDomainFinder {
 public:
  RegisteredDomainFinder(size_t cache_entries);
  RegisteredDomainFinder(const RegisteredDomainFinder&) = delete;
  RegisteredDomainFinder& operator=(const RegisteredDomainFinder&) = delete;
  // Length of the registered-domain suffix of `name` (normalized), 0 if none.
  size_t Find(std::string_view name);

 private:
  size_t Lookup(std::string_view name);
  struct SuffixList;
  static const SuffixList& SharedList();
  // Direct-mapped cache slot, one cache line: the key (the last few labels) is stored
  // inline and compared exactly; longer keys bypass the cache.
  struct Slot {
    uint64_t hash = 0;
    uint16_t rd_len = 0;
    uint8_t key_len = 0;           // 0: empty slot
    bool no_deeper_rules = false;  // no list rule has more labels than the key and ends in it
    char key[52];
  };
  static_assert(sizeof(Slot) == 64);
  // The slot holding key's answer (looked up now if absent), nullptr if key is too long.
  const Slot* Cached(std::string_view key);
  // Find when the list's text (and so rule_parents_) is not available.
  size_t FindWithoutRuleParents(std::string_view name);
  const SuffixList& list_;
  // Power of two. It starts at kFirstCacheSlots and doubles, dropping its contents, each
  // time it has been filled twice over, up to max_slots_: a short stream or a quiet
  // resolver does not pay for a cache sized for a busy one.
  static constexpr size_t kFirstCacheSlots = 4096;
  std::vector<Slot> slots_;
  size_t max_slots_;
  size_t fills_ = 0;  // slots filled since the last resize
  std::string scratch_;
};

class EventNormalizer {
 public:
  explicit EventNormalizer(NormalizerOptions options);
  // Appends the normalized event to batch. On failure returns false and sets *reason to
  // a short counter label ("missing_timestamp", "bad_qname").
  bool Append(const RawDnsObservation& obs, DnsEventBatch* batch, std::string_view* reason);

 private:
  // rd_hash: XXH3_64bits of the registered domain.
  bool IsNewDomain(uint64_t rd_hash);
  // True when some score gate matches e (or there are none).
  bool NeedsScore(const DnsEventBatch& batch, const DnsEvent& e) const;
  // names_.DgaScore(label), remembered per label until the model learns again (a score
  // depends only on the label and the model, so a remembered one is exact).
  float CachedDgaScore(std::string_view label);
  struct ScoreSlot {
    uint64_t hash = 0;
    uint64_t model_version = UINT64_MAX;  // labels_learned() when scored; MAX: empty
    float score = 0;
    uint8_t len = 0;
    char label[43];
  };

  ClientRedactor redactor_;
  RegisteredDomainFinder domains_;
  size_t seen_capacity_;
  HashSet64 seen_current_, seen_previous_;
  bool score_names_;
  std::vector<std::vector<EventPredicate>> score_gates_;
  std::vector<DnsField> hashed_fields_;  // only fields with a hash column
  bool hash_rd_ = false;                 // hashed_fields_ has the registered domain
  bool label_stats_;
  bool first_seen_;
  bool registered_domain_;
  NameModel names_;
  std::vector<ScoreSlot> score_cache_;  // direct-mapped, power of two
};

// Mean over labels of each label's Shannon character entropy, in bits; and label count.
void LabelStats(std::string_view name, uint16_t* label_count, float* mean_entropy);

}  // namespace dnsight
