"""Shared by inputs.py and runs.py: run the CLI on one input and classify what came back.
A finding: killed by a signal, crash text on stderr (terminate/abort/sanitizer), error[internal], a non-zero
exit with more or fewer than one stderr line, or no answer within the time limit."""
import json, os, random, struct, subprocess
findings = []
count = 0

def run(args, tag, timeout=60):
    global count
    count += 1
    try:
        p = subprocess.run([CLI] + args, capture_output=True, timeout=timeout, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        findings.append((tag, "TIMEOUT", " ".join(args)))
        return
    err = p.stderr.strip()
    bad = None
    if p.returncode < 0 or p.returncode >= 128:
        bad = f"signal/rc {p.returncode}"
    elif any(s in err for s in ("terminate called", "Segmentation", "Aborted", "what():", "core dumped", "AddressSanitizer")):
        bad = "crash text"
    elif "internal" in err:
        bad = "internal error"
    elif p.returncode != 0 and len([l for l in err.splitlines() if l.strip()]) > 1:
        bad = "multi-line error"
    elif p.returncode != 0 and not err:
        bad = "silent failure"
    if bad:
        findings.append((tag, bad, " ".join(args), err[-600:]))

def mutate_bytes(data, n=None):
    b = bytearray(data)
    for _ in range(n or random.randint(1, 8)):
        if not b: break
        i = random.randrange(len(b))
        r = random.random()
        if r < 0.5: b[i] = random.randrange(256)
        elif r < 0.7: b[i] ^= 1 << random.randrange(8)
        elif r < 0.85: b[i:i+8] = struct.pack("<Q", random.choice([0, 1, 2**31, 2**32, 2**60, 2**63, 2**64-1]))
        else: b[i:i+4] = struct.pack("<I", random.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 13]))
    return bytes(b)

def truncations(data):
    n = len(data)
    return sorted(set([0, 1, 4, 8, 9, 16, 64, n // 3, n // 2, n - 1]) - {n})


def report():
    print(f"{count} runs, {len(findings)} findings")
    for fnd in findings:
        print("FINDING", fnd[0], "|", fnd[1], "|", fnd[2])
        if len(fnd) > 3: print("   ", fnd[3].replace("\n", "\n    ")[:600])
