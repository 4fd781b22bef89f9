#pragma once
// The quantized-LLM study's task families (docs/study.md): IOB2 spans and entity F1, label micro/macro F1, the
// `curebench score` readers, bootstrap / Wilson intervals and the paired bootstrap, the bionlp dataset readers
// and the HoC converter, the NER, relation and multi-label task policies, prompting methods and run_task.
// Torch-free; eval/tasks/model_generator.hpp (a Generator backed by a loaded model) is not included.
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/eval/tasks/bionlp_data.hpp"
#include "curebench/eval/tasks/bootstrap.hpp"
#include "curebench/eval/tasks/entity_f1.hpp"
#include "curebench/eval/tasks/iob2.hpp"
#include "curebench/eval/tasks/label_f1.hpp"
#include "curebench/eval/tasks/multilabel_data.hpp"
#include "curebench/eval/tasks/multilabel_task.hpp"
#include "curebench/eval/tasks/ner_task.hpp"
#include "curebench/eval/tasks/prompting.hpp"
#include "curebench/eval/tasks/relation_task.hpp"
#include "curebench/eval/tasks/score_files.hpp"
#include "curebench/eval/tasks/task.hpp"
