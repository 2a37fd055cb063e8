/* Loads an ONNX model through the C API, compiles it, prints its inputs and outputs, runs it
 * once and prints the top-5 of the first output.
 *   classify model.onnx [input.raw]
 * input.raw: the first input's bytes, exactly (e.g. f32 NCHW); without it f32 inputs get a
 * fixed synthetic pattern and others zeros. Symbolic dimensions are compiled as 1. */
#include <octet/octet_c.h>

#include <stdio.h>
#include <stdlib.h>

/* Prints the status and fails when a call did. */
#define TRY(call)                                                        \
  do {                                                                   \
    octet_status* status_ = (call);                                      \
    if (status_) {                                                       \
      fprintf(stderr, "octet: %s\n", octet_status_message(status_));    \
      octet_status_free(status_);                                        \
      goto done;                                                         \
    }                                                                    \
  } while (0)

enum { kMaxIo = 16, kTop = 5 };

static void print_value(const char* role, const octet_value_info* info) {
  printf("%s %s: dtype %d, shape [", role, info->name, (int)info->dtype);
  for (size_t d = 0; d < info->rank; ++d) printf(d ? ",%lld" : "%lld", (long long)info->dims[d]);
  printf("]\n");
}

/* The tensor's data and byte size; NULL (the status reported) when they cannot be had. */
static void* tensor_bytes(octet_tensor* tensor, size_t* bytes) {
  void* data = NULL;
  octet_status* status = octet_tensor_data(tensor, &data);
  if (!status) status = octet_tensor_byte_size(tensor, bytes);
  if (status) fprintf(stderr, "octet: %s\n", octet_status_message(status));
  octet_status_free(status);
  return status ? NULL : data;
}

/* A deterministic pattern in [-0.5, 0.5) for an f32 tensor (zeros would tell little). */
static void fill_pattern(octet_tensor* tensor) {
  size_t bytes = 0;
  float* values = (float*)tensor_bytes(tensor, &bytes);
  if (!values) return;
  for (size_t i = 0; i < bytes / sizeof(float); ++i) values[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
}

/* Fills `tensor` from a raw file holding exactly its bytes. */
static int read_raw(const char* path, octet_tensor* tensor) {
  size_t bytes = 0;
  void* data = tensor_bytes(tensor, &bytes);
  if (!data) return 0;
  FILE* f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 0;
  }
  const size_t got = fread(data, 1, bytes, f);
  const int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != bytes || extra) fprintf(stderr, "%s does not hold exactly %zu bytes\n", path, bytes);
  return got == bytes && !extra;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s model.onnx [input.raw]\n", argv[0]);
    return 2;
  }
  int rc = 1;
  octet_model* model = NULL;
  octet_compiled_model* compiled = NULL;
  octet_session* session = NULL;
  octet_tensor* inputs[kMaxIo] = {NULL};
  octet_tensor* output = NULL;
  size_t input_count = 0, output_count = 0;

  TRY(octet_model_load(argv[1], &model));
  TRY(octet_compile(model, NULL, &compiled));  /* FP32, the best ISA the CPU has */
  const char* isa = NULL;
  TRY(octet_compiled_model_isa(compiled, &isa));
  printf("compiled for %s\n", isa);

  TRY(octet_compiled_model_io_count(compiled, OCTET_INPUTS, &input_count));
  TRY(octet_compiled_model_io_count(compiled, OCTET_OUTPUTS, &output_count));
  if (input_count > kMaxIo || output_count == 0) {
    fprintf(stderr, "%zu inputs, %zu outputs: not a model for this example\n", input_count, output_count);
    goto done;
  }
  const char* input_names[kMaxIo];
  for (size_t i = 0; i < input_count; ++i) {
    octet_value_info info;
    TRY(octet_compiled_model_io_info(compiled, OCTET_INPUTS, i, &info));
    print_value("input", &info);
    input_names[i] = info.name;
    TRY(octet_tensor_create(info.dtype, info.dims, info.rank, &inputs[i]));  /* zero-filled */
    if (info.dtype == OCTET_DTYPE_F32) fill_pattern(inputs[i]);
  }
  octet_value_info first_output;
  for (size_t i = 0; i < output_count; ++i) {
    octet_value_info info;
    TRY(octet_compiled_model_io_info(compiled, OCTET_OUTPUTS, i, &info));
    print_value("output", &info);
    if (i == 0) first_output = info;
  }
  if (argc > 2 && !read_raw(argv[2], inputs[0])) goto done;

  /* Only the first output, in a tensor octet allocates (its slot is NULL). */
  TRY(octet_session_create(compiled, &session));
  TRY(octet_session_run(session, input_names, (const octet_tensor* const*)inputs, input_count, &first_output.name,
                        &output, 1));
  if (first_output.dtype != OCTET_DTYPE_F32) {
    printf("the first output is not f32: no top-5\n");
    rc = 0;
    goto done;
  }
  size_t bytes = 0;
  const float* scores = (const float*)tensor_bytes(output, &bytes);
  if (!scores) goto done;
  const size_t n = bytes / sizeof(float);
  int taken[kTop];
  printf("top-%d of %s:\n", kTop, first_output.name);
  for (int k = 0; k < kTop && (size_t)k < n; ++k) {
    int best = -1;
    for (size_t i = 0; i < n; ++i) {
      int used = 0;
      for (int j = 0; j < k; ++j) used |= taken[j] == (int)i;
      if (!used && (best < 0 || scores[i] > scores[best])) best = (int)i;
    }
    taken[k] = best;
    printf("  %d: %g\n", best, scores[best]);
  }
  rc = 0;

done:
  /* Every free reports a status; a clean shutdown has none to report. */
  octet_status_free(octet_tensor_free(output));
  for (size_t i = 0; i < kMaxIo; ++i) octet_status_free(octet_tensor_free(inputs[i]));
  octet_status_free(octet_session_free(session));
  octet_status_free(octet_compiled_model_free(compiled));
  octet_status_free(octet_model_free(model));
  return rc;
}
