// The published INT8-vs-FP32 tables (../shared/classic-tables/*.csv): the figure printed beside
// octet's own where a model is one of their rows, on the column of the same ISA class.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace octet::bench {

struct PublishedFigure {
  std::string column;  // "i9-10920X (VNNI)"
  double value = 0;
};

struct PublishedRow {
  std::string model, dataset, metric;
  std::vector<PublishedFigure> figures;  // in column order
};

class PublishedTables {
 public:
  // Reads accuracy_drop.csv and throughput_speedup.csv from dir; an absent dir gives empty
  // tables. Malformed files throw octet::Error naming the file.
  static PublishedTables load(const std::string& dir);
  // Where the tables are: beside the zoo (zoo/../classic-tables), else ../shared beside the sources.
  static std::string locate(const std::string& zoo_dir, const std::string& source_dir);

  // The figures of `row` on the columns that match octet's ISA (vnni -> VNNI columns,
  // avx512[_fast] -> AVX512, avx2[_fast] -> AVX2; ref -> none).
  std::vector<PublishedFigure> drop(const std::string& row, const std::string& isa) const;
  std::vector<PublishedFigure> speedup(const std::string& row, const std::string& isa) const;

  // Every row of both tables, in the accuracy table's order then the rest.
  std::vector<std::string> all_rows() const;
  const std::map<std::string, PublishedRow>& accuracy_rows() const { return accuracy_; }
  bool empty() const { return accuracy_.empty() && speedup_.empty(); }

  // The ISA class of a published column header ("VNNI", "AVX512", "AVX2", "" if unknown).
  static std::string column_class(const std::string& header);
  static std::string isa_class(const std::string& isa);

  // Parses one table from CSV text (header: model,dataset[,metric],<cpu columns>...).
  static std::map<std::string, PublishedRow> parse_csv(const std::string& text, const std::string& name,
                                                       std::vector<std::string>* order);

 private:
  std::map<std::string, PublishedRow> accuracy_, speedup_;
  std::vector<std::string> order_;
};

// "0.35" or "0.23-3.06" for several columns with different values; "" when none.
std::string format_published(const std::vector<PublishedFigure>& figures, int decimals);

}  // namespace octet::bench
