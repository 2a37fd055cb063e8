// The zoo's word-level tokenizer rules, case by case, and the zoo's own check sentence.
#include <gtest/gtest.h>

#include <filesystem>

#include "bench_int8/tokenizer.h"
#include "test_support.h"

namespace octet::bench {
namespace {

using Tokens = std::vector<std::string>;

TEST(Tokenizer, LowercasesAsciiOnlyAndSplitsWordsAndPunctuation) {
  EXPECT_EQ(WordTokenizer::split("It 's A Charming-Journey."), (Tokens{"it", "'", "s", "a", "charming", "-", "journey", "."}));
  EXPECT_EQ(WordTokenizer::split("abc123 x9"), (Tokens{"abc123", "x9"}));
  EXPECT_EQ(WordTokenizer::split("a,b"), (Tokens{"a", ",", "b"}));
  EXPECT_EQ(WordTokenizer::split("$5 ..."), (Tokens{"$", "5", ".", ".", "."}));
}

TEST(Tokenizer, EveryWhitespaceByteSeparates) {
  EXPECT_EQ(WordTokenizer::split(" a\tb\nc\rd\ve\ff  "), (Tokens{"a", "b", "c", "d", "e", "f"}));
  EXPECT_TRUE(WordTokenizer::split(" \t ").empty());
}

TEST(Tokenizer, NonAsciiBytesStayInsideWordsUnchanged) {
  // "Café Über": é and Ü are multi-byte UTF-8 (bytes >= 0x80), not lowercased, not split.
  EXPECT_EQ(WordTokenizer::split("Caf\xC3\xA9 \xC3\x9C" "ber"), (Tokens{"caf\xC3\xA9", "\xC3\x9C" "ber"}));
}

TEST(Tokenizer, UnknownTokensMapToUnkAndSequenceIsFramed) {
  WordTokenizer t({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "film"});
  EXPECT_EQ(t.token_ids("Good FILM , really"), (std::vector<int64_t>{4, 5, 1, 1}));
  const EncodedText e = t.encode("good film", 6);
  EXPECT_EQ(e.input_ids, (std::vector<int64_t>{2, 4, 5, 3, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 0, 0}));
  const EncodedText empty = t.encode("", 4);
  EXPECT_EQ(empty.input_ids, (std::vector<int64_t>{2, 3, 0, 0}));
}

TEST(Tokenizer, KeepsAtMostSeqLenMinusTwoIds) {
  WordTokenizer t({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"});
  const EncodedText e = t.encode("a a a a a a a a", 5);
  EXPECT_EQ(e.input_ids, (std::vector<int64_t>{2, 4, 4, 4, 3}));
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1}));
}

TEST(Tokenizer, ZooCheckSentenceEncodesToTheDocumentedIds) {
  const std::string zoo = octet::testing::zoo_dir();
  if (zoo.empty()) GTEST_SKIP() << "model zoo absent (../shared/zoo or $OCTET_ZOO)";
  const WordTokenizer t = WordTokenizer::load(zoo + "/models/sst2-tinybert/vocab.txt");
  const std::vector<TextSample> dev = read_labelled_tsv(zoo + "/datasets/sst2-dev/dev.tsv");
  ASSERT_EQ(dev.size(), 872u);
  EXPECT_EQ(dev[0].text, "it 's a charming and often affecting journey . ");
  EXPECT_EQ(dev[0].label, 1);
  const EncodedText e = t.encode(dev[0].text, 128);
  std::vector<int64_t> want = {2, 17, 11, 13, 6, 310, 7, 152, 1507, 632, 9, 3};
  want.resize(128, 0);
  EXPECT_EQ(e.input_ids, want);
  int64_t mask_sum = 0;
  for (int64_t m : e.attention_mask) mask_sum += m;
  EXPECT_EQ(mask_sum, 12);
}

}  // namespace
}  // namespace octet::bench
