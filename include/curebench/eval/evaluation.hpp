#pragma once
// The torch-free half of an evaluation: datasets, verification, prompts, metrics, results and submission.
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/metrics.hpp"
#include "curebench/eval/prompt.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/eval/verify.hpp"
#include "curebench/eval/wilson.hpp"
#include "curebench/report/results.hpp"
#include "curebench/report/samples_log.hpp"
#include "curebench/report/submission.hpp"
