// The text ops and string tensors: TfIdfVectorizer (modes, skips, 1-gram once, 1-D / 2-D, int
// and string pools), StringNormalizer (case actions, stopwords, the empty-output rule, Latin-1
// case mapping, locales), Cast / CastLike to and from string (numpy's text forms), string values
// between nodes, and the compile-time refusal of strings by every other op.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "frontend/model_builder.h"  // EXPECT_OCTET_ERROR
#include "ops/op_test_util.h"

// EXPECT that `stmt` throws octet::Error whose message contains `substr`.

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;
using Strings = std::vector<std::string>;

Tensor strs(Shape shape, Strings v) { return Tensor::from_strings(std::move(shape), std::move(v)); }
Tensor f32(Shape shape, const std::vector<float>& v) { return make_tensor<float>(DType::f32, std::move(shape), v); }
Tensor s64(Shape shape, const std::vector<int64_t>& v) { return make_tensor<int64_t>(DType::s64, std::move(shape), v); }
Tensor s32(Shape shape, const std::vector<int32_t>& v) { return make_tensor<int32_t>(DType::s32, std::move(shape), v); }

Strings strings_of(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::string);
  return Strings(t.data_as<std::string>(), t.data_as<std::string>() + t.numel());
}
template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.numel());
}

// ---- TfIdfVectorizer ------------------------------------------------------------------------

OpTest tfidf(const std::string& mode, int64_t min_n, int64_t max_n, int64_t skip) {
  OpTest t("TfIdfVectorizer", 9);
  t.attr("mode", mode).attr("min_gram_length", min_n).attr("max_gram_length", max_n).attr("max_skip_count", skip);
  return t;
}

TEST(TfIdfVectorizer, SkipsAsTheSpecExample) {
  // The spec's example: [94, 17, 36, 12, 28] with 2 skips has the 2-grams [94, 12] and [17, 28];
  // without skips [17, 36] is one of its 2-grams.
  auto run = [](int64_t skip) {
    return tfidf("TF", 2, 2, skip)
        .attr("pool_int64s", std::vector<int64_t>{94, 12, 17, 28, 17, 36})
        .attr("ngram_counts", std::vector<int64_t>{0, 0})
        .attr("ngram_indexes", std::vector<int64_t>{0, 1, 2})
        .input("x", s64({5}, {94, 17, 36, 12, 28}))
        .output("y")
        .run()[0];
  };
  EXPECT_EQ(values<float>(run(0)), (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(values<float>(run(2)), (std::vector<float>{1, 1, 1}));
  // A skip count far past the row length is the same as the longest useful one (and ends).
  EXPECT_EQ(values<float>(run(std::numeric_limits<int64_t>::max())), (std::vector<float>{1, 1, 1}));
}

OpTest uni_and_bigrams(const std::string& mode, int64_t skip) {
  // Pool: 1-grams 5 and 6, the 2-gram [5, 6].
  OpTest t = tfidf(mode, 1, 2, skip);
  t.attr("pool_int64s", std::vector<int64_t>{5, 6, 5, 6})
      .attr("ngram_counts", std::vector<int64_t>{0, 2})
      .attr("ngram_indexes", std::vector<int64_t>{0, 1, 2});
  return t;
}

TEST(TfIdfVectorizer, UnigramsCountOnceWhateverTheSkips) {
  // [5, 5, 6]: 1-grams 5 twice, 6 once (not again per skip distance); [5, 6] adjacent once and
  // at distance 2 once.
  auto y = uni_and_bigrams("TF", 3).input("x", s32({3}, {5, 5, 6})).output("y").run()[0];
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{2, 1, 2}));
  auto y0 = uni_and_bigrams("TF", 0).input("x", s32({3}, {5, 5, 6})).output("y").run()[0];
  EXPECT_EQ(values<float>(y0), (std::vector<float>{2, 1, 1}));
}

TEST(TfIdfVectorizer, IdfAndTfIdfWeights) {
  const std::vector<float> w = {0.5f, 2.0f, 3.0f};
  auto idf = uni_and_bigrams("IDF", 3).attr("weights", w).input("x", s32({3}, {5, 5, 6})).output("y").run()[0];
  EXPECT_EQ(values<float>(idf), (std::vector<float>{0.5f, 2.0f, 3.0f}));
  auto tfidf_w = uni_and_bigrams("TFIDF", 3).attr("weights", w).input("x", s32({3}, {5, 5, 6})).output("y").run()[0];
  EXPECT_EQ(values<float>(tfidf_w), (std::vector<float>{1.0f, 2.0f, 6.0f}));
  auto idf1 = uni_and_bigrams("IDF", 0).input("x", s32({3}, {5, 7, 7})).output("y").run()[0];
  EXPECT_EQ(values<float>(idf1), (std::vector<float>{1, 0, 0}));  // no weights: 1 where found
}

TEST(TfIdfVectorizer, RowsAndOutputCoordinates) {
  // 2-D input: one output row per input row; ngram_indexes place the counts (coordinate 1 unused).
  auto y = tfidf("TF", 1, 1, 0)
               .attr("pool_int64s", std::vector<int64_t>{1, 2})
               .attr("ngram_counts", std::vector<int64_t>{0})
               .attr("ngram_indexes", std::vector<int64_t>{2, 0})
               .input("x", s64({2, 3}, {1, 1, 2, 2, 2, 9}))
               .output("y")
               .run()[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 0, 2, 2, 0, 0}));
}

TEST(TfIdfVectorizer, StringPool) {
  auto y = tfidf("TF", 1, 2, 0)
               .attr("pool_strings", Strings{"a", "b", "a", "b"})
               .attr("ngram_counts", std::vector<int64_t>{0, 2})
               .attr("ngram_indexes", std::vector<int64_t>{0, 1, 2})
               .input("x", strs({2, 3}, {"a", "b", "a", "b", "b", "c"}))
               .output("y")
               .run()[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{2, 1, 1, 0, 2, 0}));
}

TEST(TfIdfVectorizer, Errors) {
  auto base = [] {
    OpTest t = tfidf("TF", 1, 1, 0);
    t.attr("pool_int64s", std::vector<int64_t>{1, 2}).attr("ngram_counts", std::vector<int64_t>{0});
    return t;
  };
  auto with_indexes = [&](std::vector<int64_t> idx) { return base().attr("ngram_indexes", idx); };
  const Tensor x = s64({2}, {1, 2});
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).attr("mode", "BM25").input("x", x).output("y").run(), "mode is 'BM25'");
  EXPECT_OCTET_ERROR(with_indexes({0}).input("x", x).output("y").run(),
                     "ngram_indexes has 1 entries but the pool holds 2 n-grams");
  EXPECT_OCTET_ERROR(with_indexes({0, -1}).input("x", x).output("y").run(), "output coordinates must be >= 0");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).attr("pool_strings", Strings{"a"}).input("x", x).output("y").run(),
                     "exactly one of pool_int64s and pool_strings");
  EXPECT_OCTET_ERROR(
      with_indexes({0, 1}).attr("ngram_counts", std::vector<int64_t>{0, 3}).input("x", x).output("y").run(),
      "not a range of the 2 pool items");
  EXPECT_OCTET_ERROR(with_indexes({0})
                         .attr("ngram_counts", std::vector<int64_t>{1, 1})
                         .attr("max_gram_length", int64_t(2))
                         .input("x", x)
                         .output("y")
                         .run(),
                     "not a whole number of 2-grams");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).attr("weights", std::vector<float>{1}).input("x", x).output("y").run(),
                     "weights has 1 entries");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).attr("min_gram_length", int64_t(0)).input("x", x).output("y").run(),
                     "min_gram_length is 0");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).attr("max_skip_count", int64_t(-1)).input("x", x).output("y").run(),
                     "max_skip_count is -1");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).input("x", f32({2}, {1, 2})).output("y").run(),
                     "pool_int64s needs an int32 or int64 input, not f32");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).input("x", strs({2}, {"1", "2"})).output("y").run(),
                     "pool_int64s needs an int32 or int64 input, not string");
  EXPECT_OCTET_ERROR(with_indexes({0, 1}).input("x", s64({1, 1, 2}, {1, 2})).output("y").run(),
                     "input must be 1-D [C] or 2-D [N, C]");
  EXPECT_OCTET_ERROR(OpTest("TfIdfVectorizer", 9).input("x", x).output("y").run(), "attribute 'mode' is required");
}

// ---- StringNormalizer -----------------------------------------------------------------------

OpTest normalizer(const Tensor& x, bool constant = true) {
  OpTest t("StringNormalizer", 10);
  if (constant) t.const_input("x", x);
  else t.input("x", x);
  t.output("y");
  return t;
}

TEST(StringNormalizer, CaseActionsAndStopwords) {
  const Tensor days = strs({4}, {"monday", "tuesday", "wednesday", "thursday"});
  const Strings monday = {"monday"};
  auto lower = normalizer(days).attr("case_change_action", "LOWER").attr("is_case_sensitive", int64_t(1))
                   .attr("stopwords", monday).run()[0];
  EXPECT_EQ(lower.shape(), (Shape{3}));
  EXPECT_EQ(strings_of(lower), (Strings{"tuesday", "wednesday", "thursday"}));
  auto upper = normalizer(days).attr("case_change_action", "UPPER").attr("stopwords", monday).run()[0];
  EXPECT_EQ(strings_of(upper), (Strings{"TUESDAY", "WEDNESDAY", "THURSDAY"}));
  // Case-insensitive (the default): "Monday" is the stopword "monday"; [1, C] stays 2-D.
  const Tensor two_dim = strs({1, 4}, {"Monday", "tuesday", "MONDAY", "Tuesday"});
  auto insensitive = normalizer(two_dim).attr("case_change_action", "UPPER").attr("stopwords", monday).run()[0];
  EXPECT_EQ(insensitive.shape(), (Shape{1, 2}));
  EXPECT_EQ(strings_of(insensitive), (Strings{"TUESDAY", "TUESDAY"}));
  auto sensitive = normalizer(two_dim).attr("is_case_sensitive", int64_t(1)).attr("stopwords", monday).run()[0];
  EXPECT_EQ(strings_of(sensitive), (Strings{"Monday", "tuesday", "MONDAY", "Tuesday"}));
}

TEST(StringNormalizer, EverythingDroppedGivesOneEmptyString) {
  const Strings monday = {"monday"};
  auto one_d = normalizer(strs({2}, {"monday", "monday"})).attr("stopwords", monday).run()[0];
  EXPECT_EQ(one_d.shape(), (Shape{1}));
  EXPECT_EQ(strings_of(one_d), (Strings{""}));
  auto two_d = normalizer(strs({1, 1}, {"MONDAY"})).attr("stopwords", monday).run()[0];
  EXPECT_EQ(two_d.shape(), (Shape{1, 1}));
  EXPECT_EQ(strings_of(two_d), (Strings{""}));
}

TEST(StringNormalizer, RuntimeInputWithoutStopwords) {
  auto y = normalizer(strs({3}, {"Ab", "çÀ", "Straße ÿ"}), false).attr("case_change_action", "UPPER").run()[0];
  EXPECT_EQ(strings_of(y), (Strings{"AB", "ÇÀ", "STRAßE Ÿ"}));  // Latin-1 mapped, ß kept
  auto l = normalizer(strs({1, 2}, {"ÉCOLE Ÿ", "x1Ω"}), false).attr("case_change_action", "LOWER")
               .attr("locale", "en_US").run()[0];
  EXPECT_EQ(strings_of(l), (Strings{"école ÿ", "x1Ω"}));  // Greek is outside the mapped range
  auto same = normalizer(strs({2}, {"Mixed", "case"}), false).run()[0];
  EXPECT_EQ(strings_of(same), (Strings{"Mixed", "case"}));
}

TEST(StringNormalizer, Errors) {
  const Tensor x = strs({2}, {"a", "b"});
  EXPECT_OCTET_ERROR(normalizer(x, false).attr("stopwords", Strings{"a"}).run(),
                     "with stopwords the output shape depends on the data: the input must be a constant");
  EXPECT_OCTET_ERROR(normalizer(x).attr("case_change_action", "TITLE").run(), "case_change_action is 'TITLE'");
  EXPECT_OCTET_ERROR(normalizer(x).attr("locale", "tr_TR").run(), "locale 'tr_TR' is not supported");
  EXPECT_OCTET_ERROR(normalizer(x).attr("is_case_sensitive", int64_t(2)).run(), "is_case_sensitive is 2");
  EXPECT_OCTET_ERROR(normalizer(strs({2, 2}, {"a", "b", "c", "d"})).run(), "input must be [C] or [1, C]");
  EXPECT_OCTET_ERROR(normalizer(f32({2}, {1, 2})).run(), "input must be a string tensor, not f32");
  EXPECT_OCTET_ERROR(normalizer(strs({1}, {"\xff"}), false).attr("case_change_action", "UPPER").run(),
                     "is not valid UTF-8");
  EXPECT_OCTET_ERROR(normalizer(strs({1}, {"\xc3"})).attr("stopwords", Strings{"a"}).run(), "is not valid UTF-8");
  EXPECT_OCTET_ERROR(normalizer(x).attr("stopwords", Strings{"\xe2\x82"}).run(),
                     "stopwords: StringNormalizer: the string");
}

// ---- Cast with strings ----------------------------------------------------------------------

Tensor cast(const Tensor& x, DType to) {
  return OpTest("Cast", 13).attr("to", static_cast<int64_t>(to)).input("x", x).output("y").run()[0];
}

TEST(CastString, FloatsAsNumpyWritesThem) {
  const float inf = std::numeric_limits<float>::infinity();
  auto y = cast(f32({12}, {0.9767611f, 0.5f, 1.0f, 1e-5f, 1e-4f, 1e16f, 123456789.0f, -0.0f, inf, -inf, NAN, 3e38f}),
                DType::string);
  EXPECT_EQ(strings_of(y), (Strings{"0.9767611", "0.5", "1.0", "1e-05", "1e-04", "1e+16", "123456790.0", "-0.0", "inf",
                                    "-inf", "nan", "3e+38"}));
  auto d = cast(make_tensor<double>(DType::f64, {4}, {1e-5, 12345678.9, 0.1, 5e-324}), DType::string);
  EXPECT_EQ(strings_of(d), (Strings{"1e-05", "12345678.9", "0.1", "5e-324"}));
  auto h = cast(cast(f32({4}, {0.1f, 65504.0f, 1.0f / 3.0f, -2.5f}), DType::f16), DType::string);
  EXPECT_EQ(strings_of(h), (Strings{"0.1", "65500.0", "0.3333", "-2.5"}));
  auto i = cast(s64({3}, {-7, 0, std::numeric_limits<int64_t>::max()}), DType::string);
  EXPECT_EQ(strings_of(i), (Strings{"-7", "0", "9223372036854775807"}));
}

TEST(CastString, StringsToNumbers) {
  auto y = cast(strs({8}, {"0.47892547", " 2.5\n", "+INF", "-inf", "NaN", "1E8", "-3", "infinity"}), DType::f32);
  const std::vector<float> v = values<float>(y);
  EXPECT_EQ(v[0], 0.47892547f);
  EXPECT_EQ(v[1], 2.5f);
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[4]));
  EXPECT_EQ(v[5], 1e8f);
  EXPECT_EQ(v[6], -3.0f);
  EXPECT_EQ(v[7], std::numeric_limits<float>::infinity());
  // Integers keep their exact value; other text goes through Cast's float rules (truncation).
  auto i = cast(strs({4}, {"9007199254740993", "-7", "100.9", "+5"}), DType::s64);
  EXPECT_EQ(values<int64_t>(i), (std::vector<int64_t>{9007199254740993LL, -7, 100, 5}));
  auto u = cast(strs({1}, {"18446744073709551615"}), DType::u64);
  EXPECT_EQ(values<uint64_t>(u), (std::vector<uint64_t>{18446744073709551615ULL}));
  // string -> string copies.
  EXPECT_EQ(strings_of(cast(strs({2}, {"a", ""}), DType::string)), (Strings{"a", ""}));
}

TEST(CastString, CastLike) {
  auto y =
      OpTest("CastLike", 15).input("x", f32({2}, {0.25f, 2.0f})).input("like", strs({1}, {"?"})).output("y").run()[0];
  EXPECT_EQ(strings_of(y), (Strings{"0.25", "2.0"}));
  auto z =
      OpTest("CastLike", 15).input("x", strs({2}, {"0.25", "-1e3"})).input("like", f32({1}, {0})).output("y").run()[0];
  EXPECT_EQ(values<float>(z), (std::vector<float>{0.25f, -1000.0f}));
}

TEST(CastString, Errors) {
  EXPECT_OCTET_ERROR(cast(strs({2}, {"1.5", "hello"}), DType::f32), "the string 'hello' is not a number");
  EXPECT_OCTET_ERROR(cast(strs({1}, {""}), DType::s32), "the string '' is not a number");
  EXPECT_OCTET_ERROR(cast(strs({1}, {"1.5x"}), DType::f64), "is not a number");
  EXPECT_OCTET_ERROR(cast(strs({1}, {"1"}), DType::boolean), "unsupported conversion string -> bool");
  EXPECT_OCTET_ERROR(cast(make_tensor<uint8_t>(DType::boolean, {1}, {1}), DType::string),
                     "unsupported conversion bool -> string");
}

// ---- string values in the engine --------------------------------------------------------------

// x (f32 [3]) -> Cast to string (value "s") -> Cast to f64 ("y"); outputs y, and s when asked.
CompiledModel string_chain(bool s_is_output, const CompileOptions& options = {}) {
  auto g = std::make_shared<detail::Graph>();
  g->opsets[""] = 13;
  const int x = g->add_value("x");
  g->values[x].dtype = DType::f32;
  g->values[x].shape = {3};
  g->values[x].shape_known = true;
  g->inputs.push_back(x);
  const int s = g->add_value("s"), y = g->add_value("y");
  auto cast_node = [&](int in, int out, DType to) {
    detail::Node n;
    n.op_type = "Cast";
    n.name = "cast" + std::to_string(out);
    n.inputs = {in};
    n.outputs = {out};
    detail::Attribute a;
    a.i = static_cast<int64_t>(to);
    n.attrs["to"] = a;
    g->nodes.push_back(n);
  };
  cast_node(x, s, DType::string);
  cast_node(s, y, DType::f64);
  g->outputs = {y};
  if (s_is_output) g->outputs.push_back(s);
  g->toposort();
  return CompiledModel::compile(Model(g), options);
}

TEST(StringValues, BetweenNodesAndAcrossRuns) {
  // The string value in the middle is owned per run, never in the arena.
  for (bool s_is_output : {false, true}) {
    Session session = string_chain(s_is_output).create_session();
    for (float base : {1.5f, -0.25f}) {
      auto out = session.run({{"x", f32({3}, {base, base * 2, base * 4})}});
      EXPECT_EQ(values<double>(out.at("y")), (std::vector<double>{base, base * 2.0, base * 4.0}));
      if (s_is_output) {
        EXPECT_EQ(strings_of(out.at("s"))[0], base == 1.5f ? "1.5" : "-0.25");
      }
    }
  }
  // run_into copies a string output into the caller's tensor.
  Session session = string_chain(true).create_session();
  Tensor into(DType::string, {3});
  session.run_into({{"x", f32({3}, {1, 2, 3})}}, {{"s", into}});
  EXPECT_EQ(strings_of(into), (Strings{"1.0", "2.0", "3.0"}));
}

TEST(StringValues, Int8CompileLeavesStringsAlone) {
  // Calibration observes f32 values only; the string value between the Casts runs as in FP32.
  CompileOptions opt;
  opt.precision = Precision::int8;
  opt.calibration_data = {{{"x", f32({3}, {0.5f, 1, 2})}}};
  auto out = string_chain(true, opt).create_session().run({{"x", f32({3}, {0.5f, 1, 2})}});
  EXPECT_EQ(strings_of(out.at("s")), (Strings{"0.5", "1.0", "2.0"}));
  EXPECT_EQ(values<double>(out.at("y")), (std::vector<double>{0.5, 1.0, 2.0}));
}

TEST(StringValues, OtherOpsRefuseStrings) {
  const Tensor x = strs({2}, {"a", "b"});
  EXPECT_OCTET_ERROR(OpTest("Identity", 13).input("x", x).output("y").run(),
                     "unsupported dtype string for input 0: Identity does not take string tensors");
  EXPECT_OCTET_ERROR(OpTest("Reshape", 13).input("x", x).const_input("s", s64({2}, {1, 2})).output("y").run(),
                     "Reshape does not take string tensors");
  EXPECT_OCTET_ERROR(OpTest("Concat", 13).attr("axis", int64_t(0)).input("x", x).input("z", x).output("y").run(),
                     "Concat does not take string tensors");
  EXPECT_OCTET_ERROR(OpTest("Equal", 13).input("x", x).input("z", x).output("y").run(),
                     "Equal does not take string tensors");
  EXPECT_OCTET_ERROR(OpTest("ConstantOfShape", 13).attr("value", strs({1}, {"a"})).const_input("s", s64({1}, {2}))
                         .output("y").run(),
                     "unsupported dtype string");
}

}  // namespace
}  // namespace octet
