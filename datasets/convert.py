#!/usr/bin/env python3
"""Convert the openly licensed clinical QA sets in ../shared/datasets into CURE-Bench JSONL.

Every output line is one question: {"id", "question_type", "question", "options", "correct_answer"}
(keys in that order; `correct_answer` is left out for the unlabelled default test split).

Slices are drawn with the same seeded "hash rank" rule that curebench's C++ reader uses for
--limit/--seed (eval/dataset.hpp): keep the k records whose SHA-256("<seed>\\n<id>") digests are
smallest, then write them in source order. A slice is therefore reproducible from the id list alone,
and growing k only ever adds records.

Usage (from the repository root):
    python3 datasets/convert.py --source /work/shared/datasets --out datasets
    python3 datasets/convert.py --source /work/shared/datasets --out /tmp/full --full   # every record
    python3 datasets/convert.py --source /work/shared/datasets --out /tmp/lm-eval --lm-eval
        # the splits lm-evaluation-harness evaluates (every record), each record with its lm-eval task
        # (`lm_eval.task`; PubMedQA also its CONTEXTS and bare QUESTION), and the nearest few-shot pools:
        # docs/evaluation.md "lm-eval protocol"
"""
import argparse
import csv
import hashlib
import json
import os
import sys

SEED = 0  # the seed every shipped slice was drawn with


def hash_rank_slice(records, k, seed=SEED):
    """The k records with the smallest SHA-256(f"{seed}\\n{id}"), in their original order."""
    if k is None or k >= len(records):
        return list(records)
    ranked = sorted(range(len(records)),
                    key=lambda i: hashlib.sha256(f"{seed}\n{records[i]['id']}".encode()).digest())
    keep = set(ranked[:k])
    return [r for i, r in enumerate(records) if i in keep]


def record(id_, question, options, answer, qtype="multi_choice"):
    assert answer is None or answer in options, (id_, answer, options)
    out = {"id": id_, "question_type": qtype, "question": question, "options": options}
    if answer is not None:
        out["correct_answer"] = answer
    return out


def medqa(src):
    rows = []
    with open(os.path.join(src, "medqa-usmle", "test_4options.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append(record(f"medqa4-{r['realidx']}", r["question"], r["options"], r["answer_idx"]))
    return rows


def medmcqa(src):
    rows = []
    with open(os.path.join(src, "medmcqa", "dev_single_choice.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append(record(f"medmcqa-{r['realidx']}", r["question"], r["options"], r["answer_idx"]))
    return rows


HEADQA_CLINICAL = {"M": "medicine", "E": "nursery", "F": "pharmacology"}


def headqa(src):
    """Clinical categories only (medicine, nursing, pharmacology); questions that need an image are left out."""
    with open(os.path.join(src, "headqa-en", "test_HEAD_EN.json"), encoding="utf-8") as f:
        doc = json.load(f)
    rows = []
    for exam, body in doc["exams"].items():
        if exam.rsplit("_", 1)[-1] not in HEADQA_CLINICAL:
            continue
        for q in body["data"]:
            if q["image"]:
                continue
            answers = sorted(q["answers"], key=lambda a: a["aid"])
            letters = {str(a["aid"]): "ABCD"[i] for i, a in enumerate(answers)}
            options = {"ABCD"[i]: a["atext"] for i, a in enumerate(answers)}
            rows.append(record(f"headqa-{exam}-{q['qid']}", q["qtext"], options, letters[str(q["ra"])]))
    return rows


MMLU_SUBJECTS = ["anatomy", "clinical_knowledge", "college_biology", "college_medicine",
                 "medical_genetics", "professional_medicine"]


def mmlu(src, split):
    rows = []
    for subject in MMLU_SUBJECTS:
        path = os.path.join(src, "mmlu-medical", split, f"{subject}_{split}.csv")
        with open(path, encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.reader(f)):
                assert len(r) == 6 and r[5] in "ABCD", (path, i, r)
                rows.append(record(f"mmlu-{subject}-{split}-{i}", r[0], dict(zip("ABCD", r[1:5])), r[5]))
    return rows


PUBMEDQA_LETTER = {"yes": "A", "no": "B", "maybe": "C"}


def pubmedqa_text(r):
    # Reasoning-required setting: the abstract without its conclusion (LONG_ANSWER is never shown).
    sections = "\n".join(f"{label}: {text}" for label, text in zip(r["LABELS"], r["CONTEXTS"]))
    return f"{r['QUESTION']}\n\nAbstract:\n{sections}"


def pubmedqa(src):
    with open(os.path.join(src, "pubmedqa", "ori_pqal.json"), encoding="utf-8") as f:
        pqal = json.load(f)
    with open(os.path.join(src, "pubmedqa", "test_ground_truth.json"), encoding="utf-8") as f:
        test = json.load(f)
    rows = []
    for pmid, decision in test.items():  # official test split, in the order of test_ground_truth.json
        r = pqal[pmid]
        assert r["final_decision"] == decision, pmid
        rows.append(record(f"pubmedqa-{pmid}", pubmedqa_text(r), {"A": "yes", "B": "no", "C": "maybe"},
                           PUBMEDQA_LETTER[decision]))
    return rows


def lm_eval_tagged(rows, task):
    """The same records, each with its lm-eval task (what --protocol lm-eval renders; eval/lm_eval.hpp)."""
    return [dict(r, lm_eval={"task": task}) for r in rows]


def pubmedqa_lm_eval(src, test_split):
    """PQA-L as lm-eval's pubmedqa sees it: the official 500 test questions, or the other 500 (the pool lm-eval's
    bigbio fold0 train (450) and validation (50) are cut from); CONTEXTS and QUESTION kept for its doc_to_text."""
    with open(os.path.join(src, "pubmedqa", "ori_pqal.json"), encoding="utf-8") as f:
        pqal = json.load(f)
    with open(os.path.join(src, "pubmedqa", "test_ground_truth.json"), encoding="utf-8") as f:
        test = json.load(f)
    pmids = list(test) if test_split else [p for p in pqal if p not in test]
    rows = []
    for pmid in pmids:
        r = pqal[pmid]
        out = record(f"pubmedqa-{pmid}", pubmedqa_text(r), {"A": "yes", "B": "no", "C": "maybe"},
                     PUBMEDQA_LETTER[r["final_decision"]])
        out["lm_eval"] = {"task": "pubmedqa", "contexts": r["CONTEXTS"], "question": r["QUESTION"]}
        rows.append(out)
    return rows


def headqa_all(src, split):
    """HEAD-QA English, every category and every question (images included, as lm-eval's headqa_en);
    options in the file's answer order (aid 1..4, checked), gold = answers[ra - 1] as lm-eval's doc_to_target."""
    with open(os.path.join(src, "headqa-en", f"{split}_HEAD_EN.json"), encoding="utf-8") as f:
        doc = json.load(f)
    rows = []
    for exam, body in doc["exams"].items():
        for q in body["data"]:
            assert [a["aid"] for a in q["answers"]] == [1, 2, 3, 4], (exam, q["qid"])
            options = {"ABCD"[i]: a["atext"] for i, a in enumerate(q["answers"])}
            rows.append(record(f"headqa-{exam}-{q['qid']}", q["qtext"], options, "ABCD"[int(q["ra"]) - 1]))
    return lm_eval_tagged(rows, "headqa_en")


def mmlu_lm_eval(src, split):
    rows = mmlu(src, split)
    return [dict(r, lm_eval={"task": "mmlu_" + r["id"].split("-")[1]}) for r in rows]


def write_lm_eval(src, out):
    """The splits lm-eval evaluates, and the few-shot pools nearest to the ones it draws from (docs/evaluation.md)."""
    write_jsonl(os.path.join(out, "pubmedqa", "test.jsonl"), pubmedqa_lm_eval(src, True))
    write_jsonl(os.path.join(out, "pubmedqa", "fewshot.jsonl"), pubmedqa_lm_eval(src, False))
    write_jsonl(os.path.join(out, "medqa_4options", "test.jsonl"), lm_eval_tagged(medqa(src), "medqa_4options"))
    write_jsonl(os.path.join(out, "medmcqa", "validation.jsonl"), lm_eval_tagged(medmcqa(src), "medmcqa"))
    write_jsonl(os.path.join(out, "mmlu", "test.jsonl"), mmlu_lm_eval(src, "test"))
    write_jsonl(os.path.join(out, "mmlu", "dev.jsonl"), mmlu_lm_eval(src, "dev"))
    write_jsonl(os.path.join(out, "headqa_en", "test.jsonl"), headqa_all(src, "test"))
    write_jsonl(os.path.join(out, "headqa_en", "validation.jsonl"), headqa_all(src, "dev"))


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    print(f"{path}: {len(rows)} records, {os.path.getsize(path)} bytes, sha256 {digest}")


def default_pair(src):
    """30 labelled val + 30 unlabelled test questions from the MIT-licensed sets, CURE-Bench type mix.

    PubMedQA questions can be answered without seeing the options, so they carry the two-step type
    open_ended_multi_choice (and a few open_ended, which keep options and gold as phase-1 files do);
    the "Which of the following" items of MedQA/MedMCQA/MMLU stay multi_choice. Options are rotated
    (texts unchanged, order cyclically shifted) to balance the gold letters.
    """
    pools = {"medqa": medqa(src), "medmcqa": medmcqa(src), "mmlu": mmlu(src, "test"), "pubmedqa": pubmedqa(src)}
    # 2 × (per split): 8 MedQA, 6 MedMCQA, 6 MMLU multi_choice; 8 PubMedQA two-step, 2 PubMedQA open_ended.
    take = {"medqa": 16, "medmcqa": 12, "mmlu": 12, "pubmedqa": 20}
    picked = {name: hash_rank_slice(rows, take[name], seed=1) for name, rows in pools.items()}
    val, test = [], []
    for name, rows in picked.items():
        half = len(rows) // 2
        for split, part in ((val, rows[:half]), (test, rows[half:])):
            for i, r in enumerate(part):
                r = dict(r)
                if name == "pubmedqa":
                    r["question_type"] = "open_ended" if i >= 8 else "open_ended_multi_choice"
                split.append(r)
    # Balance the gold letters (the sources lean towards A; an "always A" extractor would look good):
    # rotate each record's options so that record i's gold lands on letter i mod len(options).
    for split in (val, test):
        for i, r in enumerate(split):
            letters = sorted(r["options"])
            texts = [r["options"][x] for x in letters]
            n, g = len(letters), letters.index(r["correct_answer"])
            shift = (g - i % n) % n
            r["options"] = {letters[j]: texts[(j + shift) % n] for j in range(n)}
            r["correct_answer"] = letters[i % n]
    for r in test:
        del r["correct_answer"]  # the competition's test split carries no labels
    return val, test


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="/work/shared/datasets", help="folder with the original downloads")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)), help="output folder")
    ap.add_argument("--full", action="store_true", help="write every record instead of the shipped slices")
    ap.add_argument("--lm-eval", action="store_true", help="write the splits lm-evaluation-harness evaluates")
    args = ap.parse_args()
    full = args.full
    s = args.source
    if args.lm_eval:
        write_lm_eval(s, args.out)
        return 0
    k = (lambda n: None) if full else (lambda n: n)
    write_jsonl(os.path.join(args.out, "medqa-usmle", "test.jsonl"), hash_rank_slice(medqa(s), k(100)))
    write_jsonl(os.path.join(args.out, "medmcqa", "dev.jsonl"), hash_rank_slice(medmcqa(s), k(150)))
    write_jsonl(os.path.join(args.out, "headqa-en", "test.jsonl"), hash_rank_slice(headqa(s), k(100)))
    write_jsonl(os.path.join(args.out, "mmlu-medical", "dev.jsonl"), mmlu(s, "dev"))  # lm-eval's few-shot split
    write_jsonl(os.path.join(args.out, "mmlu-medical", "val.jsonl"), mmlu(s, "val"))
    write_jsonl(os.path.join(args.out, "mmlu-medical", "test.jsonl"), hash_rank_slice(mmlu(s, "test"), k(100)))
    write_jsonl(os.path.join(args.out, "pubmedqa", "test.jsonl"), hash_rank_slice(pubmedqa(s), k(60)))
    val, test = default_pair(s)
    write_jsonl(os.path.join(args.out, "default", "val.jsonl"), val)
    write_jsonl(os.path.join(args.out, "default", "test.jsonl"), test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
