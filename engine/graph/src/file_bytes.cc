#include "octet/graph/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "octet/error.h"

namespace octet::detail {

std::shared_ptr<const FileBytes> FileBytes::open(const std::string& path, std::string* error) {
  // O_NONBLOCK: a FIFO (or a device) must not block open(); fstat below refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *error = std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = kNotRegularFile;
    return nullptr;
  }
  return std::shared_ptr<const FileBytes>(new FileBytes(fd, static_cast<uint64_t>(st.st_size), path));
}

FileBytes::~FileBytes() { ::close(fd_); }

void FileBytes::read(uint64_t offset, void* dst, size_t n) const {
  char* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done;
    if (chunk > (size_t(1) << 30)) chunk = size_t(1) << 30;
    const ssize_t got = ::pread(fd_, out + done, chunk, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw Error(path_ + ": cannot read " + std::to_string(n) + " bytes at offset " + std::to_string(offset) + ": " +
                  (got < 0 ? std::string(std::strerror(errno)) : std::string("the file is shorter than when it was loaded")));
    done += static_cast<size_t>(got);
  }
}

}  // namespace octet::detail
