// FeedbackStore: operator verdicts on decisions (accept, suppress, reclassify), kept with
// the decision they judge and exported as training labels.
//
//   accept       the decision was right; its class stands
//   suppress     a false alarm (or not worth a page): the scope is silenced for
//                `suppress_for` and the decision becomes a benign label
//   reclassify   the anomaly was real but of another class (`class` says which)
//
// Feedback is appended to a JSON-lines file (one object per verdict, the newest verdict
// on a decision wins) and loaded back at start; malformed lines in that file are counted
// and skipped. Labels export writes an incidents.jsonl timeline (docs/decisions.md) that
// `dnsight train --truth` reads: an accepted or reclassified decision becomes an incident
// of its (new) class over its evidence window; a suppressed one a benign incident.
//
// Thread-safety: all methods take one mutex (API threads record, metrics read).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "detect/decision.h"
#include "dnsight/status.h"

namespace dnsight {

enum class Verdict : uint8_t { kAccept, kSuppress, kReclassify };
std::string_view VerdictName(Verdict v);

struct Feedback {
  std::string decision_id;
  Verdict verdict = Verdict::kAccept;
  std::string new_class;  // reclassify only
  std::string user;       // who said so (the API's token role, or --user)
  std::string note;
  int64_t ts_ns = 0;            // when it was given
  int64_t suppress_for_ns = 0;  // suppress: how long to silence the scope (0 = default 4h)
  // Copied from the decision when it is known, so labels survive the decision log ring.
  std::string klass, view, entity;
  int64_t decision_ts_ns = 0, evidence_from_ns = 0;
};

// {"decision_id":..,"verdict":"accept|suppress|reclassify","class":..,"note":..,
//  "suppress_for":"2h","user":..}. decision_id may also come from the URL (id_from_path).
Status ParseFeedbackJson(std::string_view body, std::string_view id_from_path, Feedback* out);
void AppendFeedbackJson(const Feedback& f, std::string* out);

struct FeedbackCounts {
  uint64_t accepted = 0, suppressed = 0, reclassified = 0;
  uint64_t malformed_lines = 0;  // in the file at load
  // accepted / all verdicts: how often the detectors were right when judged; NaN if none.
  double Precision() const;
};

class FeedbackStore {
 public:
  // Opens (creating) the file and loads what is in it. "" keeps feedback in memory only.
  static Result<std::unique_ptr<FeedbackStore>> Open(const std::string& path);
  // read_only: loads the file and never writes it (exports).
  static Result<std::unique_ptr<FeedbackStore>> Open(const std::string& path, bool read_only);
  ~FeedbackStore();

  // Appends and applies. Errors: the file cannot be written (nothing is applied then).
  Status Record(const Feedback& f);
  std::optional<Feedback> ForDecision(std::string_view decision_id) const;
  std::vector<Feedback> All() const;  // latest verdict per decision, in recording order
  FeedbackCounts counts() const;

 private:
  explicit FeedbackStore(std::string path) : path_(std::move(path)) {}
  void Apply(const Feedback& f);

  std::string path_;
  mutable std::mutex mu_;
  int fd_ = -1;
  std::vector<Feedback> order_;
  std::map<std::string, size_t, std::less<>> by_id_;  // index into order_
  FeedbackCounts counts_;
};

// Writes the labels timeline (see above) for every judged decision. Returns the number of
// incidents written.
size_t ExportFeedbackLabels(const std::vector<Feedback>& feedback, int64_t default_evidence_ns,
                            std::ostream& out);

}  // namespace dnsight
