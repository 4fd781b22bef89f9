#pragma once
// Answer extraction: the Extractor concept and its three policies (CurebenchDefault, SeedRegex, KitRule).
#include "curebench/eval/extract/curebench_default.hpp"
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/extractor.hpp"
#include "curebench/eval/extract/kit_rule.hpp"
#include "curebench/eval/extract/seed_regex.hpp"
