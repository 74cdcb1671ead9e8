#include "act/audit_chain.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/digest.h"
#include "common/time_util.h"
#include "engine/row_writer.h"  // AppendJsonString, AppendJsonNumber

namespace dnsight {
namespace {

constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
constexpr std::string_view kSeqPrefix = "{\"seq\":";
constexpr std::string_view kPrevKey = ",\"prev\":\"";
constexpr std::string_view kHashKey = ",\"hash\":\"";
constexpr size_t kHexLen = 64;
// `,"hash":"<64 hex>"}`
constexpr size_t kHashSuffixLen = kHashKey.size() + kHexLen + 2;
// `,"prev":"<64 hex>"`
constexpr size_t kPrevTailLen = kPrevKey.size() + kHexLen + 1;
// A line longer than this is not something Append writes; refusing it bounds memory.
constexpr size_t kMaxLineBytes = 1 << 20;

bool IsLowerHex(std::string_view s) {
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool IsReserved(std::string_view key) {
  return key == "seq" || key == "ts" || key == "ts_ns" || key == "prev" || key == "hash";
}

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  for (const char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// The chain state carried from one line to the next.
struct Cursor {
  uint64_t records = 0;
  std::string prev{kZeroHash};
};

struct LineCheck {
  AuditDefect defect = AuditDefect::kNone;
  uint64_t seq = 0;
  std::string detail;
  std::string hash;  // the line's hash when it verified
};

LineCheck Defect(AuditDefect d, uint64_t seq, std::string detail) {
  LineCheck c;
  c.defect = d;
  c.seq = seq;
  c.detail = std::move(detail);
  return c;
}

// Checks the shape with simdjson: a JSON object whose keys start seq, ts, ts_ns and end
// prev, hash, with none of those five repeated in between.
bool CanonicalShape(simdjson::dom::parser& parser, std::string_view line, std::string* why) {
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) {
    *why = "not valid JSON";
    return false;
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    *why = "not a JSON object";
    return false;
  }
  std::vector<std::string_view> keys;
  for (const auto field : obj) keys.push_back(field.key);
  const size_t n = keys.size();
  if (n < 5 || keys[0] != "seq" || keys[1] != "ts" || keys[2] != "ts_ns" || keys[n - 2] != "prev" ||
      keys[n - 1] != "hash") {
    *why = "keys are not seq, ts, ts_ns, ..., prev, hash";
    return false;
  }
  for (size_t i = 3; i + 2 < n; ++i) {
    if (IsReserved(keys[i])) {
      *why = "reserved key '" + std::string(keys[i]) + "' repeated";
      return false;
    }
  }
  std::string_view ts;
  int64_t ts_ns = 0;
  if (obj["ts"].get_string().get(ts) != simdjson::SUCCESS ||
      obj["ts_ns"].get_int64().get(ts_ns) != simdjson::SUCCESS) {
    *why = "ts is not a string or ts_ns is not an integer";
    return false;
  }
  return true;
}

// Verifies one line (without its newline) against the cursor; advances it when good.
LineCheck CheckLine(simdjson::dom::parser& parser, std::string_view line, Cursor* cur) {
  if (line.size() > kMaxLineBytes) return Defect(AuditDefect::kBadJson, 0, "line too long");
  if (line.size() < kSeqPrefix.size() + kPrevTailLen + kHashSuffixLen ||
      line.substr(0, kSeqPrefix.size()) != kSeqPrefix)
    return Defect(AuditDefect::kBadJson, 0, "line does not start with {\"seq\":");

  // seq: canonical decimal (no sign, no leading zero) directly after the prefix.
  const char* p = line.data() + kSeqPrefix.size();
  const char* end = line.data() + line.size();
  uint64_t seq = 0;
  const auto [ptr, ec] = std::from_chars(p, end, seq);
  if (ec != std::errc() || ptr == p || *ptr != ',' || (*p == '0' && ptr - p > 1))
    return Defect(AuditDefect::kBadJson, 0, "seq is not a decimal integer");

  const std::string_view suffix = line.substr(line.size() - kHashSuffixLen);
  const std::string_view hash = suffix.substr(kHashKey.size(), kHexLen);
  if (suffix.substr(0, kHashKey.size()) != kHashKey || suffix.substr(kHashSuffixLen - 2) != "\"}" ||
      !IsLowerHex(hash))
    return Defect(AuditDefect::kBadJson, seq, "line does not end with ,\"hash\":\"<64 hex>\"}");
  const std::string_view body = line.substr(0, line.size() - kHashSuffixLen);
  const std::string_view prev_tail = body.substr(body.size() - kPrevTailLen);
  const std::string_view prev = prev_tail.substr(kPrevKey.size(), kHexLen);
  if (prev_tail.substr(0, kPrevKey.size()) != kPrevKey || prev_tail.back() != '"' ||
      !IsLowerHex(prev))
    return Defect(AuditDefect::kBadJson, seq, "\"prev\":\"<64 hex>\" does not precede hash");

  std::string why;
  if (!CanonicalShape(parser, line, &why)) return Defect(AuditDefect::kBadJson, seq, why);

  const uint64_t expected = cur->records + 1;
  if (seq != expected)
    return Defect(
        AuditDefect::kSeqGap, seq,
        "seq " + std::to_string(seq) + " where " + std::to_string(expected) + " was expected");
  if (prev != cur->prev)
    return Defect(AuditDefect::kPrevMismatch, seq,
                  "prev " + std::string(prev.substr(0, 12)) + "... is not the previous hash " +
                      cur->prev.substr(0, 12) + "...");
  std::string actual = AuditChainHash(prev, body);
  if (actual != hash)
    return Defect(AuditDefect::kHashMismatch, seq,
                  "content hashes to " + actual.substr(0, 12) + "..., line says " +
                      std::string(hash.substr(0, 12)) + "...");
  cur->records = seq;
  cur->prev = std::move(actual);
  LineCheck ok;
  ok.seq = seq;
  ok.hash = cur->prev;
  return ok;
}

// Feeds lines one at a time and builds the report; used by the text and file verifiers.
class Verifier {
 public:
  // Returns false once a defect is found (the report is final then).
  bool Line(std::string_view line) {
    ++line_no_;
    LineCheck c = CheckLine(parser_, line, &cur_);
    if (c.defect != AuditDefect::kNone) {
      Fail(c.defect, c.seq, std::move(c.detail));
      return false;
    }
    report_.intact_bytes += line.size() + 1;
    return true;
  }
  // Bytes after the last newline.
  void TornTail(size_t bytes) {
    ++line_no_;
    uint64_t seq = 0;
    std::string detail = "last line has no newline (" + std::to_string(bytes) + " bytes)";
    Fail(AuditDefect::kTornTail, seq, std::move(detail));
  }
  void LineTooLong() {
    ++line_no_;
    Fail(AuditDefect::kBadJson, 0, "line longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }

  AuditVerifyReport Finish() {
    report_.records = cur_.records;
    report_.last_hash = cur_.prev;
    return std::move(report_);
  }

 private:
  void Fail(AuditDefect d, uint64_t seq, std::string detail) {
    report_.ok = false;
    report_.defect = d;
    report_.line = line_no_;
    report_.expected_seq = cur_.records + 1;
    report_.seq = seq;
    report_.detail = std::move(detail);
  }

  simdjson::dom::parser parser_;
  Cursor cur_;
  uint64_t line_no_ = 0;
  AuditVerifyReport report_;
};

Status Errno(const std::string& what, const std::string& path) {
  const int e = errno;
  std::string m = "audit chain " + path + ": " + what + ": " + std::strerror(e);
  if (e == ENOENT) return Status::NotFound(std::move(m));
  return Status::IoError(std::move(m));
}

}  // namespace

std::string AuditChainHash(std::string_view prev_hex, std::string_view body) {
  std::string data;
  data.reserve(prev_hex.size() + body.size());
  data.append(prev_hex);
  data.append(body);
  return Sha256Hex(data);
}

std::string_view AuditDefectName(AuditDefect d) {
  switch (d) {
    case AuditDefect::kNone:
      return "";
    case AuditDefect::kHashMismatch:
      return "hash_mismatch";
    case AuditDefect::kPrevMismatch:
      return "prev_mismatch";
    case AuditDefect::kSeqGap:
      return "seq_gap";
    case AuditDefect::kBadJson:
      return "bad_json";
    case AuditDefect::kTornTail:
      return "torn_tail";
  }
  return "";
}

// ---- builder ----

void AuditRecordBuilder::Key(std::string_view key) {
  if (!IsIdentifier(key) || IsReserved(key)) valid_ = false;
  if (!fields_.empty()) fields_.push_back(',');
  fields_.push_back('"');
  fields_.append(key);
  fields_.append("\":");
}

AuditRecordBuilder& AuditRecordBuilder::Str(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(value, &fields_);
  return *this;
}

AuditRecordBuilder& AuditRecordBuilder::Int(std::string_view key, int64_t value) {
  Key(key);
  fields_.append(std::to_string(value));
  return *this;
}

AuditRecordBuilder& AuditRecordBuilder::Uint(std::string_view key, uint64_t value) {
  Key(key);
  fields_.append(std::to_string(value));
  return *this;
}

AuditRecordBuilder& AuditRecordBuilder::Bool(std::string_view key, bool value) {
  Key(key);
  fields_.append(value ? "true" : "false");
  return *this;
}

AuditRecordBuilder& AuditRecordBuilder::Double(std::string_view key, double value) {
  Key(key);
  AppendJsonNumber(value, &fields_);
  return *this;
}

AuditRecordBuilder& AuditRecordBuilder::Raw(std::string_view key, std::string_view json) {
  Key(key);
  if (json.empty()) valid_ = false;
  fields_.append(json);
  return *this;
}

// ---- verification ----

AuditVerifyReport VerifyAuditChainText(std::string_view text) {
  Verifier v;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      v.TornTail(text.size());
      break;
    }
    if (!v.Line(text.substr(0, nl))) break;
    text.remove_prefix(nl + 1);
  }
  return v.Finish();
}

Result<AuditVerifyReport> VerifyAuditChain(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");
  if (f == nullptr) return Errno("open", path);
  Verifier v;
  std::string line;
  char buf[1 << 16];
  bool stopped = false, too_long = false;
  size_t n = 0;
  while (!stopped && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    std::string_view chunk(buf, n);
    while (!chunk.empty()) {
      const size_t nl = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, nl);
      if (line.size() + piece.size() > kMaxLineBytes) {
        too_long = stopped = true;
        break;
      }
      line.append(piece);
      if (nl == std::string_view::npos) break;
      chunk.remove_prefix(nl + 1);
      if (!v.Line(line)) {
        stopped = true;
        break;
      }
      line.clear();
    }
  }
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return Status::IoError("audit chain " + path + ": read error");
  if (too_long) {
    v.LineTooLong();
  } else if (!stopped && !line.empty()) {
    v.TornTail(line.size());
  }
  return v.Finish();
}

// ---- the writer ----

AuditChain::AuditChain(std::string path, int fd, AuditChainOptions options, AuditOpenReport report)
    : path_(std::move(path)), fd_(fd), options_(options), open_report_(report) {}

AuditChain::~AuditChain() {
  ::close(fd_);  // also releases the flock
}

Result<std::unique_ptr<AuditChain>> AuditChain::Open(const std::string& path,
                                                     AuditChainOptions options) {
  int flags = O_RDWR | O_APPEND | O_CLOEXEC;
  if (options.create) flags |= O_CREAT;
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return Errno("open", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK)
      return Status::Unavailable("audit chain " + path + ": held open by another writer");
    errno = e;
    return Errno("flock", path);
  }
  // Verified under the lock, so no other writer can append between the check and us.
  Result<AuditVerifyReport> verified = VerifyAuditChain(path);
  if (!verified.ok()) {
    ::close(fd);
    return verified.status();
  }
  const AuditVerifyReport& r = *verified;
  AuditOpenReport report;
  report.records = r.records;
  if (!r.ok) {
    if (r.defect != AuditDefect::kTornTail) {
      ::close(fd);
      return Status::InvalidArgument(
          "audit chain " + path + " is broken at line " + std::to_string(r.line) + " (seq " +
          std::to_string(r.expected_seq) + "): " + std::string(r.reason()) + ": " + r.detail +
          "; refusing to append");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || ::ftruncate(fd, static_cast<off_t>(r.intact_bytes)) != 0 ||
        ::fsync(fd) != 0) {
      Status s = Errno("repairing torn last line", path);
      ::close(fd);
      return s;
    }
    report.repaired_torn_tail = true;
    report.torn_bytes = static_cast<uint64_t>(st.st_size) - r.intact_bytes;
  }
  std::unique_ptr<AuditChain> chain(new AuditChain(path, fd, options, report));
  chain->seq_ = r.records;
  chain->last_hash_ = r.last_hash;
  return chain;
}

Result<uint64_t> AuditChain::Append(int64_t ts_ns, const AuditRecordBuilder& record) {
  if (!record.valid())
    return Status::InvalidArgument("audit record uses a reserved or malformed key");
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_)
    return Status::IoError("audit chain " + path_ + ": an earlier write failed; reopen to repair");
  const uint64_t seq = seq_ + 1;
  std::string line;
  line.reserve(256 + record.fields().size());
  line.append(kSeqPrefix);
  line.append(std::to_string(seq));
  line.append(",\"ts\":");
  AppendJsonString(FormatRfc3339(ts_ns), &line);
  line.append(",\"ts_ns\":");
  line.append(std::to_string(ts_ns));
  if (!record.fields().empty()) {
    line.push_back(',');
    line.append(record.fields());
  }
  line.append(kPrevKey);
  line.append(last_hash_);
  line.push_back('"');
  std::string hash = AuditChainHash(last_hash_, line);
  line.append(kHashKey);
  line.append(hash);
  line.append("\"}");
  {
    // The verifier is the definition of a good line: never write one it would reject.
    simdjson::dom::parser parser;
    Cursor cur{seq_, last_hash_};
    const LineCheck c = CheckLine(parser, line, &cur);
    if (c.defect != AuditDefect::kNone)
      return Status::InvalidArgument("audit record would not verify: " + c.detail);
  }
  line.push_back('\n');

  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      ++write_errors_;
      if (n == 0) return Status::IoError("audit chain " + path_ + ": short write");
      return Errno("write", path_);
    }
    done += static_cast<size_t>(n);
  }
  if (options_.fsync && ::fdatasync(fd_) != 0) {
    // The record may or may not be durable; stop appending rather than guess.
    failed_ = true;
    ++write_errors_;
    return Errno("fdatasync", path_);
  }
  seq_ = seq;
  last_hash_ = std::move(hash);
  return seq;
}

bool AuditChain::healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !failed_;
}

uint64_t AuditChain::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

std::string AuditChain::last_hash() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_hash_;
}

uint64_t AuditChain::write_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_errors_;
}

}  // namespace dnsight
