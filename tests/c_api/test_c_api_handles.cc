// C API handles under concurrency: a handle freed by several threads at once is freed exactly
// once, and calls racing a free either see the object or report the handle, never a freed one
// (run under ASan by tools/run_tests.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "octet/octet_c.h"

namespace {

// The code of a status, which it frees.
octet_code code_of(octet_status* status) {
  const octet_code code = octet_status_code(status);
  octet_status_free(status);
  return code;
}

TEST(CApiHandles, ConcurrentFreesFreeOnce) {
  const int64_t dims[2] = {64, 64};
  for (int round = 0; round < 50; ++round) {
    octet_tensor* t = nullptr;
    ASSERT_EQ(code_of(octet_tensor_create(OCTET_DTYPE_F32, dims, 2, &t)), OCTET_OK);
    std::atomic<int> freed{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&] {
        const octet_code code = code_of(octet_tensor_free(t));
        (code == OCTET_OK ? freed : refused)++;
        EXPECT_TRUE(code == OCTET_OK || code == OCTET_INVALID_HANDLE);
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(freed.load(), 1);
    EXPECT_EQ(refused.load(), 3);
  }
}

TEST(CApiHandles, CallsRacingAFreeSeeTheObjectOrAnError) {
  const int64_t dims[1] = {1024};
  for (int round = 0; round < 50; ++round) {
    octet_tensor* t = nullptr;
    ASSERT_EQ(code_of(octet_tensor_create(OCTET_DTYPE_F32, dims, 1, &t)), OCTET_OK);
    std::thread reader([&] {
      for (int i = 0; i < 200; ++i) {
        size_t bytes = 0;
        const octet_code code = code_of(octet_tensor_byte_size(t, &bytes));
        ASSERT_TRUE(code == OCTET_OK || code == OCTET_INVALID_HANDLE);
        if (code == OCTET_OK) {
          EXPECT_EQ(bytes, 4096u);
        }
      }
    });
    EXPECT_EQ(code_of(octet_tensor_free(t)), OCTET_OK);
    reader.join();
  }
}

}  // namespace
