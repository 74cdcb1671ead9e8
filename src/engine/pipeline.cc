#include "engine/pipeline.h"

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include "common/int_math.h"
#include "engine/spsc_queue.h"
#include "ingest/normalizer.h"

namespace dnsight {
namespace {

struct Work {
  enum class Kind : uint8_t { kBatch, kWatermark, kStop } kind = Kind::kBatch;
  std::shared_ptr<const DnsEventBatch> batch;
  std::vector<std::vector<uint32_t>> sel;  // per view
  int64_t first_open_pane = 0;
};

constexpr uint32_t kStopMarker = UINT32_MAX;

void SortRows(std::vector<FeatureRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const FeatureRow& a, const FeatureRow& b) {
    if (a.window_end_ns != b.window_end_ns) return a.window_end_ns < b.window_end_ns;
    if (a.view != b.view) return a.view < b.view;
    return a.entity_key < b.entity_key;
  });
}

}  // namespace

// One shard: a ViewShard per view, run inline or on its own thread.
class Pipeline::Shard {
 public:
  Shard(const EngineConfig& cfg, bool threaded)
      : in_(cfg.engine.queue_batches), out_(cfg.engine.queue_batches) {
    for (size_t v = 0; v < cfg.views.size(); ++v)
      views_.push_back(
          std::make_unique<ViewShard>(static_cast<uint32_t>(v), cfg.views[v], cfg.engine));
    if (threaded) thread_ = std::thread([this] { Loop(); });
  }
  ~Shard() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    Work stop;
    stop.kind = Work::Kind::kStop;
    in_.Push(std::move(stop));
    thread_.join();
  }

  void Handle(Work& w, std::vector<FeatureRow>* rows) {
    if (w.kind == Work::Kind::kBatch) {
      for (size_t v = 0; v < views_.size(); ++v)
        if (!w.sel[v].empty()) views_[v]->Add(*w.batch, w.sel[v]);
    } else if (w.kind == Work::Kind::kWatermark) {
      for (auto& v : views_) v->CloseThrough(w.first_open_pane, rows);
    }
  }

  SpscQueue<Work>& in() { return in_; }
  SpscQueue<std::vector<FeatureRow>>& out() { return out_; }
  const std::vector<std::unique_ptr<ViewShard>>& views() const { return views_; }

 private:
  void Loop() {
    while (true) {
      Work w = in_.Pop();
      if (w.kind == Work::Kind::kStop) {
        std::vector<FeatureRow> marker(1);
        marker.back().view = kStopMarker;
        out_.Push(std::move(marker));
        return;
      }
      if (w.kind == Work::Kind::kWatermark) {
        std::vector<FeatureRow> rows;
        Handle(w, &rows);
        out_.Push(std::move(rows));
      } else {
        Handle(w, nullptr);
      }
    }
  }

  std::vector<std::unique_ptr<ViewShard>> views_;
  SpscQueue<Work> in_;
  SpscQueue<std::vector<FeatureRow>> out_;
  std::thread thread_;
};

class Pipeline::SourceSink : public ObservationSink {
 public:
  SourceSink(Pipeline& p, std::string name) : pipeline_(p) { counters_.name = std::move(name); }
  void OnObservation(const RawDnsObservation& obs) override {
    std::lock_guard lock(*mu_);
    pipeline_.Accept(obs, counters_);
  }
  void OnMalformed(std::string_view reason, std::span<const uint8_t> sample) override {
    std::lock_guard lock(*mu_);
    pipeline_.Malformed(reason, sample, counters_);
  }
  SourceCounters counters_;
  std::mutex* mu_ = nullptr;  // shared by all sources and Tick(); uncontended in steady state

 private:
  Pipeline& pipeline_;
};

namespace {

// The events whose dga_score some view reads: one gate per use, made of the predicates
// that must also hold for the score to matter (the view's filter, and a ratio's other
// conditions). Empty when some use needs every event's score.
std::vector<std::vector<EventPredicate>> ScoreGates(const std::vector<FeatureView>& views) {
  const auto without_score = [](const std::vector<EventPredicate>& ps,
                                std::vector<EventPredicate>* out) {
    for (const auto& p : ps)
      if (p.field != DnsField::kDgaScore) out->push_back(p);
  };
  const auto reads_score = [](const std::vector<EventPredicate>& ps) {
    return std::any_of(ps.begin(), ps.end(),
                       [](const EventPredicate& p) { return p.field == DnsField::kDgaScore; });
  };
  std::vector<std::vector<EventPredicate>> gates;
  for (const auto& v : views) {
    if (!v.UsesField(DnsField::kDgaScore)) continue;
    std::vector<EventPredicate> filter;
    without_score(v.filter, &filter);
    const auto add = [&](const std::vector<EventPredicate>& extra) {
      std::vector<EventPredicate> gate = filter;
      without_score(extra, &gate);
      gates.push_back(std::move(gate));
    };
    if (reads_score(v.filter)) add({});
    for (const auto& a : v.aggregations) {
      if (a.ReadsField() && a.field == DnsField::kDgaScore) add({});
      if (reads_score(a.predicate)) add(a.predicate);
    }
  }
  // A gate with no predicate matches every event: then gating saves nothing.
  for (const auto& g : gates)
    if (g.empty()) return {};
  return gates;
}

NormalizerOptions NormalizerOptionsFor(const EngineConfig& c) {
  NormalizerOptions o;
  o.redaction = c.redaction;
  o.psl_cache_entries = 1 << 18;
  o.seen_domains_capacity = 1 << 20;
  o.label_stats = o.first_seen = o.registered_domain = false;
  for (const auto& v : c.views) {
    o.registered_domain = o.registered_domain || v.entity == EntityKind::kRegisteredDomain ||
                          v.UsesField(DnsField::kRegisteredDomain) ||
                          v.UsesField(DnsField::kSubdomain) ||
                          v.UsesField(DnsField::kSubdomainLength);
    o.score_names = o.score_names || v.UsesField(DnsField::kDgaScore);
    o.label_stats =
        o.label_stats || v.UsesField(DnsField::kLabelCount) || v.UsesField(DnsField::kLabelEntropy);
    o.first_seen = o.first_seen || v.UsesField(DnsField::kNewDomain);
    for (const auto& a : v.aggregations) {
      if (a.kind == AggKind::kDistinct || a.kind == AggKind::kTopK)
        o.hashed_fields.push_back(a.field);
    }
    // Entities are looked up by that column's hash, so no view hashes its keys again.
    if (const auto f = v.EntityHashField()) o.hashed_fields.push_back(*f);
  }
  o.score_gates = ScoreGates(c.views);
  return o;
}

}  // namespace

struct Pipeline::Impl {
  const EngineConfig& cfg;
  RowSink& sink;
  EventNormalizer normalizer;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<std::unique_ptr<SourceSink>> sources;
  mutable std::mutex sources_mu;
  bool threaded;

  std::shared_ptr<DnsEventBatch> batch = std::make_shared<DnsEventBatch>();
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  int64_t first_open_pane = std::numeric_limits<int64_t>::min();
  PipelineCounters counters;
  std::string key;
  std::vector<const uint64_t*> entity_hashes;  // FlushBatch: per view, or nullptr
  std::vector<Work> work;
  std::vector<std::shared_ptr<DnsEventBatch>> spare_batches;
  std::vector<FeatureRow> rows;
  std::thread writer;
  bool finished = false;
  uint64_t observations_at_last_tick = 0;
  SystemClock system_clock;
  const Clock* clock = nullptr;
  // Wall clock + max_future as last read; re-read only when an event goes past it.
  int64_t future_limit_ns = std::numeric_limits<int64_t>::min();
  int64_t last_activity_wall_ns = std::numeric_limits<int64_t>::min();

  Impl(const EngineConfig& c, RowSink& s) : cfg(c), sink(s), normalizer(NormalizerOptionsFor(c)) {
    threaded = c.engine.threads > 1;
    for (int i = 0; i < c.engine.threads; ++i)
      shards.push_back(std::make_unique<Shard>(c, threaded));
    if (threaded) writer = std::thread([this] { WriterLoop(); });
  }

  // Threaded mode: one row block per shard per watermark, in order; an empty marker
  // (first_open_pane == max) ends the loop.
  void WriterLoop() {
    while (true) {
      std::vector<FeatureRow> all;
      bool stop = false;
      for (auto& sh : shards) {
        std::vector<FeatureRow> part = sh->out().Pop();
        if (!part.empty() && part.back().view == kStopMarker) {
          stop = true;
          part.pop_back();
        }
        std::move(part.begin(), part.end(), std::back_inserter(all));
      }
      SortRows(all);
      if (!all.empty()) sink.WriteRows(cfg.views, all);
      if (stop) return;
    }
  }
};

Pipeline::Pipeline(const EngineConfig& cfg, RowSink& sink, const Clock* clock)
    : impl_(std::make_unique<Impl>(cfg, sink)) {
  impl_->clock = clock != nullptr ? clock : &impl_->system_clock;
}

Pipeline::~Pipeline() {
  if (!impl_->finished) Finish();
}

ObservationSink& Pipeline::AddSource(const std::string& name) {
  impl_->sources.push_back(std::make_unique<SourceSink>(*this, name));
  impl_->sources.back()->mu_ = &impl_->sources_mu;
  return *impl_->sources.back();
}

void Pipeline::Malformed(std::string_view reason, std::span<const uint8_t> sample,
                         SourceCounters& source) {
  auto it = source.malformed.find(reason);
  if (it == source.malformed.end()) it = source.malformed.emplace(std::string(reason), 0).first;
  ++it->second;
  if (it->second <= impl_->cfg.output.dead_letter_samples_per_reason) {
    ++source.dead_letter_samples;
    impl_->sink.WriteDeadLetter(source.name, reason, sample);
  }
}

void Pipeline::Accept(const RawDnsObservation& obs, SourceCounters& source) {
  Impl& m = *impl_;
  ++m.counters.observations;
  ++source.observations;
  std::string_view reason;
  const auto reject = [&](std::string_view why) {
    auto it = m.counters.rejected.find(why);
    if (it == m.counters.rejected.end())
      it = m.counters.rejected.emplace(std::string(why), 0).first;
    ++it->second;
    Malformed(why, {reinterpret_cast<const uint8_t*>(obs.qname.data()), obs.qname.size()}, source);
  };
  if (!m.normalizer.Append(obs, m.batch.get(), &reason)) {
    reject(reason);
    return;
  }
  const DnsEvent& e = m.batch->events.back();
  // Rejected below: m.batch->PopBack() drops e (and e dies with it).
  if (m.cfg.engine.max_future_ns > 0 && e.ts_ns > m.future_limit_ns) {
    const int64_t now = m.clock->NowNs();
    m.future_limit_ns =
        now > INT64_MAX - m.cfg.engine.max_future_ns ? INT64_MAX : now + m.cfg.engine.max_future_ns;
    if (e.ts_ns > m.future_limit_ns) {
      m.batch->PopBack();
      reject("future_timestamp");
      return;
    }
  }
  if (e.ts_ns < m.cfg.engine.accept_from_ns || e.ts_ns >= m.cfg.engine.accept_to_ns) {
    ++m.counters.out_of_range;
    m.batch->PopBack();
    return;
  }
  const int64_t pane_ns = m.cfg.engine.pane_ns;
  const int64_t pane = FloorDiv(e.ts_ns, pane_ns);
  if (pane < m.first_open_pane) {
    const int64_t watermark = m.max_ts - m.cfg.engine.watermark_delay_ns;
    if ((pane + 1) * pane_ns + m.cfg.engine.allowed_lateness_ns <= watermark) {
      ++m.counters.late_dropped;
      ++source.late_dropped;
      m.sink.WriteLate(*m.batch, e, watermark);
      m.batch->PopBack();
      return;
    }
    ++m.counters.late_admitted;
    ++source.late_admitted;
  }
  ++m.counters.events;
  m.batch->panes.push_back(pane);
  if (e.ts_ns > m.max_ts) m.max_ts = e.ts_ns;
  const int64_t next_open = FloorDiv(m.max_ts - m.cfg.engine.watermark_delay_ns, pane_ns);
  if (m.first_open_pane == std::numeric_limits<int64_t>::min()) {
    m.first_open_pane = next_open;  // first event: nothing before it is open or closed
  }
  if (m.batch->size() >= m.cfg.engine.batch_size) FlushBatch();
  if (next_open > m.first_open_pane) AdvanceWatermark(next_open);
}

void Pipeline::FlushBatch() {
  Impl& m = *impl_;
  if (m.batch->events.empty()) return;
  const size_t nviews = m.cfg.views.size();
  const size_t nshards = m.shards.size();
  // Inline mode reuses its work items (their selection buffers keep their capacity);
  // threaded mode hands them over and builds new ones.
  std::vector<Work>& work = m.work;
  work.resize(nshards);
  for (auto& w : work) {
    w.kind = Work::Kind::kBatch;
    w.batch = m.batch;
    w.sel.resize(nviews);
    for (auto& sel : w.sel) sel.clear();
  }
  const DnsEventBatch& b = *m.batch;
  // Each view's entity hash column (FeatureView::EntityHash of every event's key), if any.
  std::vector<const uint64_t*>& entity_hashes = m.entity_hashes;
  entity_hashes.resize(nviews);
  for (size_t v = 0; v < nviews; ++v) entity_hashes[v] = m.cfg.views[v].EntityHashes(b);
  for (uint32_t i = 0; i < b.events.size(); ++i) {
    const DnsEvent& e = b.events[i];
    for (size_t v = 0; v < nviews; ++v) {
      const FeatureView& view = m.cfg.views[v];
      if (!view.Accepts(b, e)) continue;
      size_t shard = 0;
      if (nshards > 1) {
        const uint64_t* hashes = entity_hashes[v];
        if (hashes != nullptr) {
          shard = hashes[i] % nshards;
        } else {
          view.EntityKey(b, e, &m.key);
          shard = view.EntityHash(m.key) % nshards;
        }
      }
      work[shard].sel[v].push_back(i);
    }
  }
  for (size_t s = 0; s < nshards; ++s) {
    if (m.threaded) {
      m.shards[s]->in().Push(std::move(work[s]));
      work[s] = Work{};
    } else {
      m.shards[s]->Handle(work[s], nullptr);
      work[s].batch.reset();
    }
  }
  m.batch = NextBatch();
}

std::shared_ptr<DnsEventBatch> Pipeline::NextBatch() {
  Impl& m = *impl_;
  // A batch no shard holds any more is cleared and reused: its buffers keep their
  // capacity, which saves a large allocation per batch.
  m.spare_batches.push_back(std::move(m.batch));
  for (auto& b : m.spare_batches) {
    if (b.use_count() == 1) {
      // use_count() is a relaxed read; the fence pairs it with the shard's release of
      // its reference, so the shard's reads of the batch happen before we reuse it.
      std::atomic_thread_fence(std::memory_order_acquire);
      std::shared_ptr<DnsEventBatch> out = std::move(b);
      std::swap(b, m.spare_batches.back());
      m.spare_batches.pop_back();
      out->clear();
      return out;
    }
  }
  // Bound the pool: batches still held by shards are released when the shards finish.
  if (m.spare_batches.size() > 2 * m.shards.size() * m.cfg.engine.queue_batches)
    m.spare_batches.erase(m.spare_batches.begin());
  auto fresh = std::make_shared<DnsEventBatch>();
  fresh->events.reserve(m.cfg.engine.batch_size);
  return fresh;
}

void Pipeline::AdvanceWatermark(int64_t first_open_pane) {
  Impl& m = *impl_;
  FlushBatch();
  m.first_open_pane = first_open_pane;
  for (auto& sh : m.shards) {
    Work w;
    w.kind = Work::Kind::kWatermark;
    w.first_open_pane = first_open_pane;
    if (m.threaded) {
      sh->in().Push(std::move(w));
    } else {
      sh->Handle(w, &m.rows);
    }
  }
  if (!m.threaded && !m.rows.empty()) {
    SortRows(m.rows);
    m.sink.WriteRows(m.cfg.views, m.rows);
    m.rows.clear();
  }
}

void Pipeline::Tick(int64_t wall_now_ns) {
  Impl& m = *impl_;
  std::lock_guard lock(m.sources_mu);
  if (m.finished) return;
  if (m.counters.observations != m.observations_at_last_tick ||
      m.last_activity_wall_ns == std::numeric_limits<int64_t>::min()) {
    m.observations_at_last_tick = m.counters.observations;
    m.last_activity_wall_ns = wall_now_ns;
    return;
  }
  const int64_t quiet = wall_now_ns - m.last_activity_wall_ns;
  if (m.cfg.engine.idle_advance_ns <= 0 || quiet < m.cfg.engine.idle_advance_ns ||
      m.max_ts == std::numeric_limits<int64_t>::min())
    return;
  const int64_t next_open =
      FloorDiv(m.max_ts + quiet - m.cfg.engine.watermark_delay_ns, m.cfg.engine.pane_ns);
  if (next_open > m.first_open_pane) AdvanceWatermark(next_open);
}

void Pipeline::Finish() {
  Impl& m = *impl_;
  if (m.finished) return;
  m.finished = true;
  if (m.max_ts != std::numeric_limits<int64_t>::min()) {
    // End of input: every pane that holds data closes.
    AdvanceWatermark(FloorDiv(m.max_ts, m.cfg.engine.pane_ns) + 1);
  } else {
    FlushBatch();
  }
  if (m.threaded) {
    // Each shard answers kStop with a block holding only the stop marker, after all its
    // row blocks; the writer ends when it has seen the markers of every shard.
    for (auto& sh : m.shards) sh->Stop();
    m.writer.join();
  }
}

}  // namespace dnsight

namespace dnsight {

PipelineCounters Pipeline::counters() const {
  PipelineCounters c = impl_->counters;
  for (const auto& sh : impl_->shards) {
    for (const auto& v : sh->views()) {
      c.rows += v->counters().rows;
      c.evictions += v->counters().evictions;
      c.entities_created += v->counters().entities_created;
      c.overflow_events += v->counters().overflow_events;
      c.entities += v->entity_count();
      c.state_bytes += v->MemoryBytes();
    }
  }
  return c;
}

std::vector<SourceCounters> Pipeline::source_counters() const {
  std::lock_guard lock(impl_->sources_mu);
  std::vector<SourceCounters> out;
  for (const auto& s : impl_->sources) out.push_back(s->counters_);
  return out;
}

PipelineCounters Pipeline::IngestCounters() const {
  std::lock_guard lock(impl_->sources_mu);
  PipelineCounters c;
  const PipelineCounters& m = impl_->counters;
  c.observations = m.observations;
  c.events = m.events;
  c.late_admitted = m.late_admitted;
  c.late_dropped = m.late_dropped;
  c.out_of_range = m.out_of_range;
  c.rejected = m.rejected;
  return c;
}

}  // namespace dnsight
