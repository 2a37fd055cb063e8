// TfIdfVectorizer (opset 9): counts the pool's n-grams in each row of X (1-D [C] or 2-D [N, C],
// int32 / int64 with pool_int64s, string with pool_strings) and writes them, weighted by mode,
// at their output coordinates: Y is f32 [max(ngram_indexes) + 1] or [N, max(ngram_indexes) + 1].
//
// The counting follows the ONNX reference implementation (a port of ONNX Runtime's): for each
// skip distance d = 1 .. max_skip_count + 1, every start position gathers X[s], X[s + d], ... up
// to max_gram_length items and counts each prefix of at least min_gram_length items that is a
// pool n-gram; 1-grams are counted at d = 1 only (skips do not change them). A pool n-gram listed
// twice takes the later position's coordinate. Weights: as the reference (and ONNX Runtime, and
// the converters that write these models), IDF / TFIDF scale output coordinate c by weights[c];
// the spec's text says "the i-th n-gram in pool", which is the same when ngram_indexes is
// 0, 1, 2, ... (the converters' form). IDF writes weights[c] (1 without weights) where the count
// is > 0, TFIDF count * weights[c], TF the count.
#include <algorithm>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/text/text_util.h"

namespace octet::detail {
namespace {

enum class TfIdfMode { tf, idf, tfidf };

// A trie over the pool's n-grams: a path of items from the root; a node that ends a pool
// n-gram holds its position among the pool's n-grams.
template <class Key>
struct NgramTrie {
  struct Node {
    std::map<Key, int> children;
    int64_t ngram = -1;
  };
  std::vector<Node> nodes{Node{}};

  // Adds the n-gram items[0..n); returns its node.
  int insert(const Key* items, int64_t n) {
    int at = 0;
    for (int64_t i = 0; i < n; ++i) {
      auto it = nodes[at].children.find(items[i]);
      if (it == nodes[at].children.end()) {
        nodes.push_back(Node{});
        const int child = static_cast<int>(nodes.size()) - 1;
        nodes[at].children.emplace(items[i], child);
        at = child;
      } else {
        at = it->second;
      }
    }
    return at;
  }
  int find(int at, const Key& k) const {
    auto it = nodes[at].children.find(k);
    return it == nodes[at].children.end() ? -1 : it->second;
  }
};

// The attributes, checked against each other and the input.
struct TfIdfAttrs {
  TfIdfMode mode = TfIdfMode::tf;
  int64_t min_n = 1, max_n = 1, max_skip = 0;
  std::vector<int64_t> ngram_counts, ngram_indexes;
  std::vector<int64_t> pool_ints;
  std::vector<std::string> pool_strings;
  bool strings = false;
  std::vector<float> weights;
  int64_t out_size = 0;
};

int64_t required_int(const NodeContext& c, const char* name) {
  c.check(c.node().has_attr(name), std::string("attribute '") + name + "' is required");
  return c.node().attr_i(name, 0);
}

TfIdfAttrs read_attrs(const NodeContext& c) {
  const Node& node = c.node();
  TfIdfAttrs a;
  c.check(node.has_attr("mode"), "attribute 'mode' is required");
  const std::string mode = node.attr_s("mode", "");
  if (mode == "TF") a.mode = TfIdfMode::tf;
  else if (mode == "IDF") a.mode = TfIdfMode::idf;
  else if (mode == "TFIDF") a.mode = TfIdfMode::tfidf;
  else c.fail("mode is '" + mode + "': must be TF, IDF or TFIDF");
  a.min_n = required_int(c, "min_gram_length");
  a.max_n = required_int(c, "max_gram_length");
  a.max_skip = required_int(c, "max_skip_count");
  c.check(a.min_n >= 1, "min_gram_length is " + std::to_string(a.min_n) + ": must be >= 1");
  c.check(a.max_n >= a.min_n, "max_gram_length " + std::to_string(a.max_n) + " is below min_gram_length " +
                                  std::to_string(a.min_n));
  c.check(a.max_skip >= 0, "max_skip_count is " + std::to_string(a.max_skip) + ": must be >= 0");

  const bool has_ints = node.has_attr("pool_int64s"), has_strings = node.has_attr("pool_strings");
  c.check(has_ints != has_strings, "exactly one of pool_int64s and pool_strings must be given");
  a.strings = has_strings;
  int64_t pool_size = 0;
  if (has_ints) {
    a.pool_ints = node.attr_ints("pool_int64s");
    pool_size = static_cast<int64_t>(a.pool_ints.size());
  } else {
    const Attribute* p = node.attr("pool_strings");
    c.check(p->kind == Attribute::Kind::strings, "attribute 'pool_strings' is not a list of strings");
    a.pool_strings = p->strings;
    pool_size = static_cast<int64_t>(a.pool_strings.size());
  }

  c.check(node.has_attr("ngram_counts"), "attribute 'ngram_counts' is required");
  c.check(node.has_attr("ngram_indexes"), "attribute 'ngram_indexes' is required");
  a.ngram_counts = node.attr_ints("ngram_counts");
  a.ngram_indexes = node.attr_ints("ngram_indexes");
  // ngram_counts[k] is where the (k+1)-grams start in the pool; they run to the next start.
  int64_t ngrams = 0;
  for (size_t k = 0; k < a.ngram_counts.size(); ++k) {
    const int64_t start = a.ngram_counts[k];
    const int64_t end = k + 1 < a.ngram_counts.size() ? a.ngram_counts[k + 1] : pool_size;
    c.check(start >= 0 && start <= end && end <= pool_size,
            "ngram_counts " + std::to_string(k) + " spans pool items [" + std::to_string(start) + ", " +
                std::to_string(end) + "), not a range of the " + std::to_string(pool_size) + " pool items");
    const int64_t n = static_cast<int64_t>(k) + 1;
    c.check((end - start) % n == 0, "the " + std::to_string(end - start) + " pool items of the " + std::to_string(n) +
                                        "-grams are not a whole number of " + std::to_string(n) + "-grams");
    ngrams += (end - start) / n;
  }
  c.check(static_cast<int64_t>(a.ngram_indexes.size()) == ngrams,
          "ngram_indexes has " + std::to_string(a.ngram_indexes.size()) + " entries but the pool holds " +
              std::to_string(ngrams) + " n-grams");
  int64_t max_index = -1;
  for (int64_t i : a.ngram_indexes) {
    c.check(i >= 0, "ngram_indexes holds " + std::to_string(i) + ": output coordinates must be >= 0");
    max_index = std::max(max_index, i);
  }
  c.check(max_index < INT64_MAX, "ngram_indexes holds an output coordinate too large to address");
  a.out_size = max_index + 1;

  if (node.has_attr("weights")) {
    a.weights = node.attr_floats("weights");
    c.check(a.weights.size() == a.ngram_indexes.size(),
            "weights has " + std::to_string(a.weights.size()) + " entries, ngram_indexes " +
                std::to_string(a.ngram_indexes.size()) + ": they must match");
    c.check(static_cast<int64_t>(a.weights.size()) >= a.out_size,
            "weights has " + std::to_string(a.weights.size()) + " entries but the output has " +
                std::to_string(a.out_size) + " coordinates (weights are taken by output coordinate)");
  }
  return a;
}

void infer_tfidf(NodeContext& c) {
  const TfIdfAttrs a = read_attrs(c);
  const DType t = c.input_dtype(0);
  if (a.strings)
    c.check(t == DType::string, std::string("pool_strings needs a string input, not ") + dtype_name(t));
  else
    c.check(t == DType::s32 || t == DType::s64,
            std::string("pool_int64s needs an int32 or int64 input, not ") + dtype_name(t));
  const Shape& x = c.input_shape(0);
  c.check(x.size() == 1 || x.size() == 2, "input must be 1-D [C] or 2-D [N, C], is " + shape_str(x));
  c.set_output(0, DType::f32, x.size() == 1 ? Shape{a.out_size} : Shape{x[0], a.out_size});
}

template <class Key>
class TfIdfKernel final : public OpKernel {
 public:
  explicit TfIdfKernel(TfIdfAttrs a) : a_(std::move(a)) {
    int64_t ngram = 0;
    for (size_t k = 0; k < a_.ngram_counts.size(); ++k) {
      const int64_t n = static_cast<int64_t>(k) + 1;
      const int64_t start = a_.ngram_counts[k];
      const int64_t end = k + 1 < a_.ngram_counts.size() ? a_.ngram_counts[k + 1] : pool_size();
      for (int64_t p = start; p < end; p += n) trie_.nodes[trie_.insert(pool() + p, n)].ngram = ngram++;
    }
  }

  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t rows = x.rank() == 1 ? 1 : x.shape()[0];
    const int64_t cols = x.shape().back();
    float* out = y.data_as<float>();
    std::fill(out, out + y.numel(), 0.0f);
    std::vector<int64_t> counts(static_cast<size_t>(a_.out_size));
    std::vector<Key> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < cols; ++i) row[i] = key_at(x, r * cols + i);
      std::fill(counts.begin(), counts.end(), 0);
      count_row(row, counts);
      write_row(counts, out + r * a_.out_size);
    }
  }

 private:
  const Key* pool() const {
    if constexpr (std::is_same_v<Key, std::string>) return a_.pool_strings.data();
    else return a_.pool_ints.data();
  }
  int64_t pool_size() const {
    if constexpr (std::is_same_v<Key, std::string>) return static_cast<int64_t>(a_.pool_strings.size());
    else return static_cast<int64_t>(a_.pool_ints.size());
  }
  static Key key_at(const Tensor& x, int64_t i) {
    if constexpr (std::is_same_v<Key, std::string>) return x.data_as<std::string>()[i];
    else return x.dtype() == DType::s32 ? int64_t(x.data_as<int32_t>()[i]) : x.data_as<int64_t>()[i];
  }

  void count_row(const std::vector<Key>& row, std::vector<int64_t>& counts) const {
    const int64_t cols = static_cast<int64_t>(row.size());
    // A skip distance of cols or more leaves no room for a second item: no longer distances.
    const int64_t max_distance = std::min(a_.max_skip, std::max<int64_t>(cols - 1, 1) - 1) + 1;
    int64_t min_n = a_.min_n;
    for (int64_t d = 1; d <= max_distance; ++d) {
      for (int64_t s = 0; s < cols; ++s) {
        if (min_n - 1 > (cols - 1 - s) / d) break;  // no n-gram of min_n items fits from here on
        int at = 0;
        for (int64_t n = 1, pos = s; n <= a_.max_n && pos < cols; ++n, pos += d) {
          at = trie_.find(at, row[pos]);
          if (at < 0) break;
          const int64_t ngram = trie_.nodes[at].ngram;
          if (n >= min_n && ngram >= 0) ++counts[a_.ngram_indexes[ngram]];
        }
      }
      if (min_n == 1 && ++min_n > a_.max_n) break;  // 1-grams are counted once, not per distance
    }
  }

  void write_row(const std::vector<int64_t>& counts, float* out) const {
    const bool weighted = !a_.weights.empty();
    for (int64_t c = 0; c < a_.out_size; ++c) {
      const float w = weighted ? a_.weights[c] : 1.0f;
      switch (a_.mode) {
        case TfIdfMode::tf: out[c] = static_cast<float>(counts[c]); break;
        case TfIdfMode::idf: out[c] = counts[c] > 0 ? w : 0.0f; break;
        case TfIdfMode::tfidf: out[c] = static_cast<float>(counts[c]) * w; break;
      }
    }
  }

  TfIdfAttrs a_;
  NgramTrie<Key> trie_;
};

std::unique_ptr<OpKernel> create_tfidf(const NodeContext& c) {
  TfIdfAttrs a = read_attrs(c);
  if (a.strings) return std::make_unique<TfIdfKernel<std::string>>(std::move(a));
  return std::make_unique<TfIdfKernel<int64_t>>(std::move(a));
}

}  // namespace

void register_tfidf_ops(OpRegistry& r) {
  OpDef def{"", "TfIdfVectorizer", infer_tfidf, create_tfidf};
  def.strings = true;  // pool_strings: string input
  r.add(def);
}

}  // namespace octet::detail
