#include "serve/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/time_util.h"
#include "engine/row_writer.h"  // AppendJsonString

namespace dnsight {

void AppendAuditJson(const AuditRecord& r, std::string* out) {
  out->append("{\"ts\":");
  AppendJsonString(FormatRfc3339(r.ts_ns), out);
  out->append(",\"who\":");
  AppendJsonString(r.who, out);
  out->append(",\"role\":");
  AppendJsonString(r.role, out);
  out->append(",\"action\":");
  AppendJsonString(r.action, out);
  out->append(",\"view\":");
  AppendJsonString(r.view, out);
  out->append(",\"entities\":");
  out->append(std::to_string(r.entities));
  out->append(",\"status\":");
  out->append(std::to_string(r.status));
  out->append(",\"remote\":");
  AppendJsonString(r.remote, out);
  out->append("}\n");
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::IoError("audit log " + path + ": " + std::string(std::strerror(errno)));
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd));
}

AuditLog::~AuditLog() {
  ::close(fd_);
}

Status AuditLog::Append(const AuditRecord& r) {
  std::string line;
  line.reserve(192);
  AppendAuditJson(r, &line);
  std::lock_guard<std::mutex> lock(mu_);
  size_t done = 0;
  while (done < line.size()) {
    // One write() normally takes the whole line; the loop only finishes a short write
    // (a full disk or a signal), which leaves that one line split.
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      return Status::IoError("audit log " + path_ + ": " + std::strerror(errno));
    }
    if (n == 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      return Status::IoError("audit log " + path_ + ": short write");
    }
    done += static_cast<size_t>(n);
  }
  records_written_.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

}  // namespace dnsight
