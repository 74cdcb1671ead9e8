#include "act/feedback.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

using nlohmann::json;

constexpr size_t kMaxFieldBytes = 1024;
constexpr int64_t kMaxSuppressNs = 30 * 86'400'000'000'000;

bool ParseVerdict(std::string_view s, Verdict* out) {
  if (s == "accept") {
    *out = Verdict::kAccept;
  } else if (s == "suppress") {
    *out = Verdict::kSuppress;
  } else if (s == "reclassify") {
    *out = Verdict::kReclassify;
  } else {
    return false;
  }
  return true;
}

// A string member, bounded; absent gives "".
Status StringMember(const json& j, const char* key, std::string* out) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Status::InvalidArgument(std::string(key) + " must be a string");
  *out = it->get<std::string>();
  if (out->size() > kMaxFieldBytes)
    return Status::InvalidArgument(std::string(key) + " is longer than 1024 bytes");
  return Status::Ok();
}

uint64_t& CountFor(FeedbackCounts& c, Verdict v) {
  return v == Verdict::kAccept     ? c.accepted
         : v == Verdict::kSuppress ? c.suppressed
                                   : c.reclassified;
}

void Field(const char* key, const std::string& value, std::string* out) {
  out->push_back(',');
  AppendJsonMember(key, value, out);
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccept:
      return "accept";
    case Verdict::kSuppress:
      return "suppress";
    case Verdict::kReclassify:
      return "reclassify";
  }
  return "accept";
}

double FeedbackCounts::Precision() const {
  const uint64_t all = accepted + suppressed + reclassified;
  return all == 0 ? std::nan("") : static_cast<double>(accepted) / static_cast<double>(all);
}

Status ParseFeedbackJson(std::string_view body, std::string_view id_from_path, Feedback* out) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("feedback must be a JSON object");
  Feedback f;
  if (Status s = StringMember(j, "decision_id", &f.decision_id); !s.ok()) return s;
  if (!id_from_path.empty()) {
    if (!f.decision_id.empty() && f.decision_id != id_from_path)
      return Status::InvalidArgument("decision_id in the body differs from the URL");
    f.decision_id = std::string(id_from_path);
  }
  if (f.decision_id.empty()) return Status::InvalidArgument("decision_id is missing");
  std::string verdict;
  if (Status s = StringMember(j, "verdict", &verdict); !s.ok()) return s;
  if (!ParseVerdict(verdict, &f.verdict))
    return Status::InvalidArgument("verdict must be accept, suppress or reclassify");
  for (const auto& [key, field] :
       {std::pair{"class", &f.new_class}, std::pair{"note", &f.note}, std::pair{"user", &f.user}})
    if (Status s = StringMember(j, key, field); !s.ok()) return s;
  if (f.verdict == Verdict::kReclassify && f.new_class.empty())
    return Status::InvalidArgument("reclassify needs a class");
  std::string duration;
  if (Status s = StringMember(j, "suppress_for", &duration); !s.ok()) return s;
  if (!duration.empty()) {
    const auto d = ParseDuration(duration);
    if (!d || *d <= 0) return Status::InvalidArgument("suppress_for must be a duration like 2h");
    if (*d > kMaxSuppressNs) return Status::InvalidArgument("suppress_for is longer than 30d");
    f.suppress_for_ns = *d;
  }
  // Fields present in the file form (the store's own lines).
  for (const auto& [key, field] : {std::pair{"decision_class", &f.klass},
                                   std::pair{"view", &f.view}, std::pair{"entity", &f.entity}})
    if (Status s = StringMember(j, key, field); !s.ok()) return s;
  for (const auto& [key, field] :
       {std::pair{"ts_ns", &f.ts_ns}, std::pair{"decision_ts_ns", &f.decision_ts_ns},
        std::pair{"evidence_from_ns", &f.evidence_from_ns}}) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) *field = it->get<int64_t>();
  }
  *out = std::move(f);
  return Status::Ok();
}

void AppendFeedbackJson(const Feedback& f, std::string* out) {
  out->append("{\"decision_id\":");
  AppendJsonString(f.decision_id, out);
  Field("verdict", std::string(VerdictName(f.verdict)), out);
  if (!f.new_class.empty()) Field("class", f.new_class, out);
  Field("user", f.user, out);
  Field("note", f.note, out);
  if (f.suppress_for_ns > 0) Field("suppress_for", FormatDuration(f.suppress_for_ns), out);
  Field("ts", FormatRfc3339(f.ts_ns), out);
  out->append(",\"ts_ns\":" + std::to_string(f.ts_ns));
  Field("decision_class", f.klass, out);
  Field("view", f.view, out);
  Field("entity", f.entity, out);
  out->append(",\"decision_ts_ns\":" + std::to_string(f.decision_ts_ns));
  out->append(",\"evidence_from_ns\":" + std::to_string(f.evidence_from_ns));
  out->push_back('}');
}

Result<std::unique_ptr<FeedbackStore>> FeedbackStore::Open(const std::string& path) {
  return Open(path, /*read_only=*/false);
}

Result<std::unique_ptr<FeedbackStore>> FeedbackStore::Open(const std::string& path,
                                                           bool read_only) {
  std::unique_ptr<FeedbackStore> store(new FeedbackStore(path));
  if (path.empty()) return store;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      Feedback f;
      if (ParseFeedbackJson(line, {}, &f).ok()) {
        store->Apply(f);
      } else {
        ++store->counts_.malformed_lines;
      }
    }
  }
  if (read_only) return store;  // Record() then keeps verdicts in memory only
  store->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (store->fd_ < 0)
    return Status::IoError("cannot open feedback file " + path + ": " + std::strerror(errno));
  return store;
}

FeedbackStore::~FeedbackStore() {
  if (fd_ >= 0) ::close(fd_);
}

void FeedbackStore::Apply(const Feedback& f) {
  const auto it = by_id_.find(f.decision_id);
  if (it != by_id_.end()) {
    --CountFor(counts_, order_[it->second].verdict);
    order_[it->second] = f;
  } else {
    by_id_.emplace(f.decision_id, order_.size());
    order_.push_back(f);
  }
  ++CountFor(counts_, f.verdict);
}

Status FeedbackStore::Record(const Feedback& f) {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) {
    std::string line;
    AppendFeedbackJson(f, &line);
    line.push_back('\n');
    // A line is written whole or the file is cut back to where it was, so a failed
    // append never leaves a torn line for the next one to merge into.
    const off_t before = ::lseek(fd_, 0, SEEK_END);
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = std::strerror(errno);
        if (before >= 0 && ::ftruncate(fd_, before) != 0) {
          // nothing more to do: the error below is what the caller needs
        }
        return Status::IoError("cannot append to " + path_ + ": " + why);
      }
      done += static_cast<size_t>(n);
    }
    if (::fdatasync(fd_) != 0)
      return Status::IoError("cannot sync " + path_ + ": " + std::strerror(errno));
  }
  Apply(f);
  return Status::Ok();
}

std::optional<Feedback> FeedbackStore::ForDecision(std::string_view decision_id) const {
  std::lock_guard lock(mu_);
  const auto it = by_id_.find(decision_id);
  if (it == by_id_.end()) return std::nullopt;
  return order_[it->second];
}

std::vector<Feedback> FeedbackStore::All() const {
  std::lock_guard lock(mu_);
  return order_;
}

FeedbackCounts FeedbackStore::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

size_t ExportFeedbackLabels(const std::vector<Feedback>& feedback, int64_t default_evidence_ns,
                            std::ostream& out) {
  size_t written = 0;
  for (const Feedback& f : feedback) {
    if (f.entity.empty() || f.decision_ts_ns == 0) continue;  // nothing to tie a label to
    const bool benign = f.verdict == Verdict::kSuppress;
    const std::string klass = f.verdict == Verdict::kReclassify ? f.new_class : f.klass;
    const int64_t start =
        f.evidence_from_ns > 0 ? f.evidence_from_ns : f.decision_ts_ns - default_evidence_ns;
    std::string line = "{\"id\":";
    AppendJsonString("fb-" + f.decision_id, &line);
    line += ",\"class\":";
    AppendJsonString(benign ? "operator_suppressed" : klass, &line);
    line += benign ? ",\"benign\":true" : ",\"benign\":false";
    line += ",\"scope\":{\"kind\":\"entity\",\"value\":";
    AppendJsonString(f.entity, &line);
    line += "},\"start\":\"" + FormatRfc3339(start) + "\",\"start_ns\":" + std::to_string(start);
    line += ",\"end\":\"" + FormatRfc3339(f.decision_ts_ns) +
            "\",\"end_ns\":" + std::to_string(f.decision_ts_ns);
    line += ",\"source\":\"feedback\",\"verdict\":\"" + std::string(VerdictName(f.verdict)) + "\"}";
    out << line << '\n';
    ++written;
  }
  return written;
}

}  // namespace dnsight
